"""Bad input gets a 4xx in the one error shape with a Chinese message, and writes nothing; photos are the
visitor's own uploads, attached once."""

from __future__ import annotations

import re
import uuid

import pytest

from backend.core.timeutil import utcnow
from backend.models.media import MediaFile
from backend.models.visits import Visit, VisitEvent, VisitProblem
from tests.visits.conftest import V, body


def _shape(resp) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= resp.status_code < 500, resp.text
    data = resp.json()
    assert set(data) == {"error", "message", "detail"} and re.search(r"[\u4e00-\u9fff]", data["message"])


async def _nothing_written() -> None:
    assert await Visit.all().count() == 0 and await VisitEvent.all().count() == 0
    assert await VisitProblem.all().count() == 0


BAD_VISITS = [
    {"visited_at": "2026-11-18T10:00:00"},  # no time zone: ambiguous
    {"lat": 36.07, "lng": None},
    {"lat": 51.5, "lng": -0.12},  # London
    {"tags": ["ufo"]},
    {"tags": ["safety", "safety"]},
    {"photo_ids": list(range(1, 11))},
    {"client_id": "not-a-uuid"},
    {"accuracy_m": -1},
    {"at_home": None},
    {"notes": "字" * 1001},
    {"household_id": 0},
    {"unexpected": 1},
]


class TestCheckIn:
    @pytest.mark.parametrize("change", BAD_VISITS)
    async def test_one_bad_field(self, client, world, change):
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(V, json={**body(world.h(0, 0, 1)), **change}, headers=world.headers["party"])
        assert resp.status_code == 422
        _shape(resp)
        await _nothing_written()

    @pytest.mark.parametrize("change", BAD_VISITS[:4])
    async def test_one_bad_item_refuses_the_whole_batch(self, client, world, change):
        await world.assign("party", world.h(0, 0, 1))
        items = [body(world.h(0, 0, 1)), {**body(world.h(0, 0, 1)), **change}]
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": items},
                                 headers=world.headers["party"])
        _shape(resp)
        await _nothing_written()

    @pytest.mark.parametrize("payload", [
        {"items": []},
        {"sent_at": utcnow().isoformat(), "items": []},
        {"sent_at": "yesterday", "items": [{}]},
    ])
    async def test_bad_batches(self, client, world, payload):
        resp = await client.post(f"{V}/sync", json=payload, headers=world.headers["grid_worker"])
        _shape(resp)
        await _nothing_written()

    async def test_too_many_at_once(self, client, world):
        items = [body(world.h(0, 0, 1)) for _ in range(201)]
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": items},
                                 headers=world.headers["grid_worker"])
        assert resp.status_code == 422
        await _nothing_written()

    @pytest.mark.parametrize("query", ["month=2026-13", "month=abc", "lat=100&lng=1", "lat=36.07", "visitor_id=0",
                                       "limit=1000"])
    async def test_bad_queries(self, client, world, query):
        path = "/plan" if "lat" in query or "visitor" in query else ""
        resp = await client.get(f"{V}{path}?{query}", headers=world.headers["leader"])
        assert resp.status_code == 422
        _shape(resp)


class TestPhotos:
    async def _upload(self, user) -> int:  # type: ignore[no-untyped-def]
        row = await MediaFile.create(key=uuid.uuid4().hex, path="x.jpg", uploader_id=user.id, content_type="image/jpeg",
                                     size=10, width=1, height=1, sha256="0" * 64)
        return row.id

    async def test_own_photo_is_attached_once_and_resending_is_harmless(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        photo = await self._upload(world["party"])
        data = body(world.h(0, 0, 1), photo_ids=[photo])
        first = await client.post(V, json=data, headers=world.headers["party"])
        assert first.status_code == 201
        row = await MediaFile.get(id=photo)
        assert (row.owner_type, row.owner_id) == ("visit", first.json()["id"])
        assert (await client.post(V, json=data, headers=world.headers["party"])).status_code == 200
        detail = (await client.get(f"{V}/{first.json()['id']}", headers=world.headers["leader"])).json()
        assert str(photo) in detail["photo_urls"]

    async def test_someone_elses_photo_refuses_the_visit(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        photo = await self._upload(world["grid_worker"])
        resp = await client.post(V, json=body(world.h(0, 0, 1), photo_ids=[photo]), headers=world.headers["party"])
        assert resp.status_code == 422 and resp.json()["error"] == "MediaNotUsable"
        _shape(resp)
        await _nothing_written()
        assert (await MediaFile.get(id=photo)).owner_type is None

    async def test_in_a_batch_only_that_visit_is_refused(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        photo = await self._upload(world["grid_worker"])
        items = [body(world.h(0, 0, 1), photo_ids=[photo]), body(world.h(0, 0, 1))]
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": items},
                                 headers=world.headers["party"])
        results = resp.json()["results"]
        assert [r["outcome"] for r in results] == ["rejected", "created"]
        assert results[0]["error"]["error"] == "MediaNotUsable" and results[0]["error"]["detail"] == {"ids": [photo]}
        assert await Visit.all().count() == 1 and await VisitEvent.all().count() == 1
