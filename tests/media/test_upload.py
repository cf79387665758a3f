"""Uploads: type and size checked, the image re-encoded without EXIF (GPS included) and upright, bad input
refused with nothing stored; files served only through signed short-lived URLs handed out by authorised reads;
attachment rules; unattached uploads pruned."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from backend.core.timeutil import utcnow
from backend.media import service as media
from backend.models.media import MediaFile
from tests.media.conftest import files_under, phone_photo, png_with_alpha


async def _upload(world, who: str, data: bytes, *, name: str = "photo.jpg", content_type: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    return await world.client.post(
        "/api/v1/media", headers=world.headers[who], files={"file": (name, data, content_type)}
    )


class TestUpload:
    async def test_a_phone_photo_is_stored_upright_without_any_exif(self, world, msettings, media_dir):
        resp = await _upload(world, "resident", phone_photo(40, 20))
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert (body["width"], body["height"], body["content_type"]) == (20, 40, "image/jpeg")
        [stored] = files_under(media_dir)
        data = stored.read_bytes()
        image = Image.open(io.BytesIO(data))
        assert dict(image.getexif()) == {} and b"PhoneMaker" not in data and b"Exif" not in data
        assert image.size == (20, 40)
        row = await MediaFile.get(id=body["id"])
        assert row.uploader_id == world["resident"].id and row.owner_type is None and row.size == len(data)

    async def test_png_with_transparency_becomes_a_jpeg(self, world):
        resp = await _upload(world, "resident", png_with_alpha(), name="a.png", content_type="image/png")
        assert resp.status_code == 201 and resp.json()["content_type"] == "image/jpeg"

    @pytest.mark.parametrize(
        ("data", "content_type", "status", "error"),
        [
            (b"hello, not an image", "text/plain", 415, "NotAnImage"),
            (b"hello, not an image", "image/jpeg", 415, "NotAnImage"),
            (b"GIF89a" + b"\x00" * 64, "image/gif", 415, "NotAnImage"),
            (phone_photo()[:200], "image/jpeg", 415, "BrokenImage"),
            (b"", "image/jpeg", 415, "BrokenImage"),
        ],
    )
    async def test_wrong_or_broken_files_are_refused_and_nothing_is_stored(
        self, world, media_dir, data, content_type, status, error
    ):
        resp = await _upload(world, "resident", data, content_type=content_type)
        assert resp.status_code == status and resp.json()["error"] == error, resp.text
        assert set(resp.json()) == {"error", "message", "detail"}
        assert files_under(media_dir) == [] and await MediaFile.all().count() == 0

    async def test_a_photo_over_10_mb_is_refused(self, world, media_dir):
        resp = await _upload(world, "resident", b"\xff\xd8" + b"\x00" * (media.MAX_UPLOAD_BYTES + 10))
        assert resp.status_code == 413 and resp.json()["error"] == "PhotoTooLarge"
        assert files_under(media_dir) == [] and await MediaFile.all().count() == 0

    async def test_too_many_pixels_is_refused_before_decoding(self, world, media_dir):
        big = io.BytesIO()
        Image.new("L", (8000, 7000)).save(big, "PNG")  # 56 MP, a few kilobytes
        resp = await _upload(world, "resident", big.getvalue(), name="big.png", content_type="image/png")
        assert resp.status_code == 422 and resp.json()["error"] == "TooManyPixels"
        assert files_under(media_dir) == []

    async def test_not_multipart_or_no_file_field(self, world):
        plain = await world.client.post(
            "/api/v1/media", headers=world.headers["resident"], json={"file": "x"}
        )
        assert plain.status_code == 400 and plain.json()["error"] == "BadUpload"
        other = await world.client.post(
            "/api/v1/media",
            headers=world.headers["resident"],
            files={"photo": ("a.jpg", phone_photo(), "image/jpeg")},
        )
        assert other.status_code == 400
        anonymous = await world.client.post(
            "/api/v1/media", files={"file": ("a.jpg", phone_photo(), "image/jpeg")}
        )
        assert anonymous.status_code == 401


class TestServing:
    async def test_the_signed_url_serves_the_file_without_a_login_and_only_while_valid(
        self, world, msettings
    ):
        body = (await _upload(world, "resident", phone_photo())).json()
        resp = await world.client.get(body["url"])
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
        assert resp.headers["cache-control"].startswith("private")
        parts = parse_qs(urlsplit(body["url"]).query)
        path = urlsplit(body["url"]).path
        tampered = await world.client.get(path, params={"exp": parts["exp"][0], "sig": "A" * 24})
        assert tampered.status_code == 404
        other_id = await world.client.get(
            path.replace(str(body["id"]), str(body["id"] + 1)),
            params={"exp": parts["exp"][0], "sig": parts["sig"][0]},
        )
        assert other_id.status_code == 404
        row = await MediaFile.get(id=body["id"])
        expired = media.signed_url(msettings, row, now=time.time() - 3600)
        assert (await world.client.get(expired)).status_code == 404

    async def test_metadata_is_for_the_uploader_and_those_who_see_the_report(self, world):
        photo = (await _upload(world, "resident", phone_photo())).json()["id"]
        await world.get("neighbour", f"/api/v1/media/{photo}", expect=404)
        await world.get("resident", f"/api/v1/media/{photo}")
        rid = (await world.report("resident", photo_ids=[photo]))["id"]
        detail = (await world.get("grid_worker", f"/api/v1/reports/{rid}")).json()
        assert [p["id"] for p in detail["photos"]] == [photo]
        assert (await world.client.get(detail["photos"][0]["url"])).status_code == 200
        await world.get("grid_worker", f"/api/v1/media/{photo}")
        await world.get("grid_worker_b", f"/api/v1/media/{photo}", expect=404)
        await world.get("neighbour", f"/api/v1/media/{photo}", expect=404)


class TestAttaching:
    async def test_a_photo_is_attached_once_and_only_by_its_uploader(self, world):
        photo = (await _upload(world, "resident", phone_photo())).json()["id"]
        theirs = await world.report("neighbour", expect=422, photo_ids=[photo])
        assert theirs["error"] == "MediaNotUsable" and theirs["detail"]["ids"] == [photo]
        await world.report("resident", photo_ids=[photo])
        again = await world.report("resident", expect=422, photo_ids=[photo])
        assert again["error"] == "MediaNotUsable"
        row = await MediaFile.get(id=photo)
        assert row.owner_type == "report"

    async def test_at_most_nine_photos(self, world):
        ids = [(await _upload(world, "resident", phone_photo())).json()["id"] for _ in range(10)]
        body = await world.report("resident", expect=422, photo_ids=ids)
        assert body["error"] == "ValidationFailed"
        await world.report("resident", photo_ids=ids[:9])

    async def test_resolution_photos_are_the_handlers(self, world):
        rid = (await world.report("resident"))["id"]
        photo = (await _upload(world, "grid_worker", phone_photo())).json()["id"]
        await world.act("grid_worker", rid, "resolve", note="已清运", photo_ids=[photo])
        timeline = (await world.get("resident", f"/api/v1/reports/{rid}/timeline")).json()
        assert [p["id"] for p in timeline[-1]["photos"]] == [photo]


class TestPruning:
    async def test_uploads_nobody_attached_are_removed_after_a_day(self, world, media_dir):
        kept = (await _upload(world, "resident", phone_photo())).json()["id"]
        await world.report("resident", photo_ids=[kept])
        old = (await _upload(world, "resident", phone_photo())).json()["id"]
        fresh = (await _upload(world, "resident", phone_photo())).json()["id"]
        await MediaFile.filter(id__in=[kept, old]).update(created_at=utcnow() - timedelta(days=2))
        assert await media.prune(media_dir, before=utcnow() - timedelta(hours=24)) == 1
        assert set(await MediaFile.all().values_list("id", flat=True)) == {kept, fresh}
        assert len(files_under(media_dir)) == 2
