"""Bad input on the reports routes: a 4xx in the one error shape with a Chinese message, and nothing stored."""

from __future__ import annotations

import re

import pytest

from backend.models.notifications import InboxItem
from backend.models.outbox import OutboxEvent
from backend.models.reports import Report, ReportEvent
from tests.reports.conftest import point_in

BAD_REPORTS = [
    ({"description": "x" * 1001}, "description"),
    ({"description": "   "}, "description"),
    ({"category": "垃圾"}, "category"),
    ({"category": "sanitation"}, "category"),
    ({"lat": 91.0}, "lat"),
    ({"lng": -181.0}, "lng"),
    ({"lat": 36.0, "lng": None}, "经纬度需同时提供"),
    ({"lat": 10.0, "lng": 10.0}, "服务范围"),
    ({"photo_ids": list(range(1, 11))}, "photo_ids"),
    ({"photo_ids": [5, 5]}, "photo_ids"),
    ({"photo_ids": [0]}, "photo_ids"),
    ({"address": "路" * 201}, "address"),
    ({"channel": "fax"}, "channel"),
    ({"resident_id": 0}, "resident_id"),
    ({"building_id": -3}, "building_id"),
    ({"priority": "urgent"}, "priority"),
]


def _shape(resp) -> dict:  # type: ignore[no-untyped-def]
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert set(body) == {"error", "message", "detail"} and re.search(r"[\u4e00-\u9fff]", body["message"])
    return body


async def _nothing_stored() -> None:
    assert await Report.all().count() == 0 and await ReportEvent.all().count() == 0
    assert await OutboxEvent.all().count() == 0 and await InboxItem.all().count() == 0


class TestSubmission:
    @pytest.mark.parametrize(("change", "where"), BAD_REPORTS)
    async def test_bad_reports_are_refused_and_nothing_is_stored(self, world, change, where):
        payload = {"category": "sanitation.garbage", "description": "垃圾没人清运", **point_in(0), **change}
        resp = await world.client.post("/api/v1/reports", json=payload, headers=world.headers["resident"])
        body = _shape(resp)
        assert resp.status_code == 422 and where in resp.text, resp.text
        assert body["error"] == "ValidationFailed"
        await _nothing_stored()

    async def test_a_building_that_is_not_one(self, world):
        resp = await world.client.post(
            "/api/v1/reports",
            headers=world.headers["resident"],
            json={"category": "sanitation.garbage", "description": "x", "building_id": world.grid(0, 0).id},
        )
        assert _shape(resp)["error"] == "BadTarget"
        await _nothing_stored()

    async def test_someone_elses_photo_rolls_the_whole_report_back(self, world):
        from backend.models.media import MediaFile

        photo = await MediaFile.create(
            key="k1",
            path="x.jpg",
            uploader_id=world["neighbour"].id,
            content_type="image/jpeg",
            size=1,
            width=1,
            height=1,
            sha256="0" * 64,
        )
        resp = await world.client.post(
            "/api/v1/reports",
            headers=world.headers["resident"],
            json={"category": "sanitation.garbage", "description": "x", "photo_ids": [photo.id]},
        )
        assert _shape(resp)["error"] == "MediaNotUsable"
        await _nothing_stored()

    async def test_not_json_at_all(self, world):
        resp = await world.client.post(
            "/api/v1/reports",
            headers={**world.headers["resident"], "Content-Type": "application/json"},
            content=b"{",
        )
        _shape(resp)
        await _nothing_stored()


class TestOtherBodies:
    @pytest.mark.parametrize(
        ("action", "body"),
        [
            ("resolve", {"note": "x" * 1001}),
            ("resolve", {"note": "ok", "public_note": "x" * 101}),
            ("request-info", {"question": ""}),
            ("escalate", {}),
            ("rate", {"score": 6}),
            ("rate", {"score": 0}),
            ("reassign", {"unit_id": "grid", "reason": "x"}),
            ("accept", {"version": 0}),
            ("whistles", {"department_ids": [], "note": "x", "deadline_hours": 4}),
            ("whistles", {"department_ids": [1], "note": "x", "deadline_hours": 0}),
            ("deliberations", {"kind": "party", "topic": "x"}),
            ("deliberations", {"kind": "two_committees", "topic": "x", "vote_options": ["同意"]}),
            ("evaluations", {"kind": "special", "score": 101}),
        ],
    )
    async def test_refused_with_nothing_changed(self, world, action, body):
        rid = (await world.report("resident"))["id"]
        before = (await Report.get(id=rid)).version, await ReportEvent.all().count()
        resp = await world.act("street_staff", rid, action, expect=None, **body)
        assert resp.status_code == 422, resp.text
        _shape(resp)
        assert ((await Report.get(id=rid)).version, await ReportEvent.all().count()) == before

    @pytest.mark.parametrize(
        "params",
        [
            {"category": "sanitation.garbage", "lat": 100, "lng": 103.7},
            {"category": "sanitation.garbage", "lat": 36, "lng": 103.7, "radius_m": 50_000},
            {"category": "sanitation.nothing", "lat": 36, "lng": 103.7},
            {"lat": 36, "lng": 103.7},
        ],
    )
    async def test_similar_with_bad_parameters(self, world, params):
        resp = await world.client.get(
            "/api/v1/reports/similar", params=params, headers=world.headers["resident"]
        )
        assert resp.status_code == 422
        _shape(resp)
