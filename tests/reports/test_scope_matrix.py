"""Role × scope on every reports route: who sees a report (404 for everyone else, never 403), who may act on it
(403 for those who see it but do not handle it), and what each list shows.

The report under test is filed by ``resident`` at a point in grid c0g0 of community c0."""

from __future__ import annotations

import pytest

ROLES = [
    "resident",
    "neighbour",
    "resident_b",
    "outsider",
    "grid_worker",
    "grid_leader",
    "grid_worker_b",
    "grid_worker_c2",
    "community_staff",
    "community_staff_2",
    "street_staff",
    "admin",
    "department",
    "department_b",
    "building_head",
    "nobody",
]
SEES = {"resident", "grid_worker", "grid_leader", "community_staff", "street_staff", "admin"}
STAFF_SEES = SEES - {"resident"}
HANDLES_GRID_LEVEL = {"grid_worker", "grid_leader", "community_staff", "street_staff", "admin"}
COMMUNITY_STAFF = {"community_staff", "street_staff", "admin"}


def _expect(who: str, ok: int, *, allowed: set[str], visible: set[str] = SEES) -> int:
    if who in allowed:
        return ok
    return 403 if who in visible else 404


class TestReading:
    @pytest.mark.parametrize("path", ["", "/timeline", "/deliberations"])
    async def test_a_report_and_its_timeline(self, world, path):
        rid = (await world.report("resident"))["id"]
        for who in ROLES:
            resp = await world.get(who, f"/api/v1/reports/{rid}{path}", expect=None)
            assert resp.status_code == (200 if who in SEES else 404), (who, resp.text)
            if resp.status_code == 404:
                assert resp.json()["error"] == "ReportNotFound"

    async def test_whistle_details_are_for_staff(self, world):
        rid = (await world.report("resident"))["id"]
        for who in ROLES:
            resp = await world.get(who, f"/api/v1/reports/{rid}/whistles", expect=None)
            assert resp.status_code == _expect(who, 200, allowed=STAFF_SEES), who

    async def test_a_summoned_department_sees_the_report(self, world):
        rid = (await world.report("resident"))["id"]
        await world.client.post(
            f"/api/v1/reports/{rid}/whistles",
            headers=world.headers["community_staff"],
            json={"department_ids": [world.departments[0].id], "note": "x", "deadline_hours": 4},
        )
        await world.get("department", f"/api/v1/reports/{rid}")
        await world.get("department_b", f"/api/v1/reports/{rid}", expect=404)
        await world.act("department", rid, "accept", expect=403)

    async def test_lists_show_only_what_is_in_scope(self, world):
        mine = (await world.report("resident"))["id"]
        theirs = (await world.report("outsider", **{"lat": 36.005, "lng": 103.725}))["id"]  # grid c1g0
        for who, expected in [("resident", {mine}), ("outsider", {theirs}), ("neighbour", set())]:
            items = (await world.get(who, "/api/v1/reports/mine")).json()["items"]
            assert {r["id"] for r in items} == expected, who
        for who, expected in [
            ("grid_worker", {mine}),
            ("grid_worker_b", set()),
            ("grid_worker_c2", {theirs}),
            ("community_staff", {mine}),
            ("community_staff_2", {theirs}),
            ("street_staff", {mine, theirs}),
            ("admin", {mine, theirs}),
        ]:
            listed = (await world.get(who, "/api/v1/reports")).json()["items"]
            queue = (await world.get(who, "/api/v1/reports/queue")).json()["items"]
            assert {r["id"] for r in listed} == expected, who
            assert {r["id"] for r in queue} <= expected, who
        for who in ("resident", "department", "building_head", "nobody"):
            await world.get(who, "/api/v1/reports", expect=403)
            await world.get(who, "/api/v1/reports/queue", expect=403)

    async def test_staff_list_narrowed_to_a_unit_must_be_in_scope(self, world):
        await world.report("resident")
        await world.get("grid_worker", "/api/v1/reports", unit_id=world.grid(0, 0).id)
        resp = await world.get("grid_worker", "/api/v1/reports", unit_id=world.grid(0, 1).id, expect=404)
        assert resp.json()["error"] == "NotFound"


class TestActing:
    @pytest.mark.parametrize(
        ("action", "body", "allowed"),
        [
            ("accept", {}, HANDLES_GRID_LEVEL),
            ("escalate", {"reason": "需要协调"}, HANDLES_GRID_LEVEL),
            ("resolve", {"note": "已处理"}, HANDLES_GRID_LEVEL),
            ("withdraw", {}, SEES),  # the reporter, or staff on their behalf
            ("whistles", {"department_ids": [], "note": "协调", "deadline_hours": 4}, COMMUNITY_STAFF),
            ("deliberations", {"kind": "two_committees", "topic": "议题"}, COMMUNITY_STAFF),
        ],
    )
    async def test_who_may_act_on_a_new_report(self, world, action, body, allowed):
        for who in ROLES:
            rid = (await world.report("resident"))["id"]
            if action == "whistles":
                body = {**body, "department_ids": [world.departments[0].id]}
            resp = await world.act(who, rid, action, expect=None, **body)
            ok = 201 if action in ("whistles", "deliberations") else 200
            assert resp.status_code == _expect(who, ok, allowed=allowed), (who, resp.text)

    async def test_who_may_rate(self, world):
        for who in ROLES:
            rid = (await world.report("resident"))["id"]
            await world.act("grid_worker", rid, "resolve", note="已处理")
            resp = await world.act(who, rid, "rate", score=4, expect=None)
            assert resp.status_code == (200 if who in SEES else 404), (who, resp.text)

    async def test_who_may_say_i_have_it_too(self, world):
        rid = (await world.report("resident"))["id"]
        expected = {"resident": 409, "nobody": 404}
        for who in ROLES:
            resp = await world.client.post(f"/api/v1/reports/{rid}/support", headers=world.headers[who])
            assert resp.status_code == expected.get(who, 200), (who, resp.text)

    async def test_a_community_level_report_is_not_the_grids_to_handle(self, world):
        for who in ROLES:
            rid = (await world.report("resident", category="safety.fire"))["id"]
            resp = await world.act(who, rid, "accept", expect=None)
            assert resp.status_code == _expect(who, 200, allowed=COMMUNITY_STAFF), (who, resp.text)
