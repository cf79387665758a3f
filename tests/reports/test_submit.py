"""说: filing a report — routing to the right grid, the team told, staff filing for a resident, similar reports
nearby and 我也遇到, and the taxonomy as data."""

from __future__ import annotations

import json

import pytest

from backend.models.audit import AuditLog
from backend.models.notifications import InboxItem
from backend.models.outbox import OutboxEvent
from backend.models.reports import Level, Report, ReportEvent, ReportSupport
from backend.reports import categories
from backend.reports.categories import TaxonomyError
from tests.reports.conftest import BASE_LAT, BASE_LNG, point_in


class TestRouting:
    async def test_a_point_inside_a_grid_polygon_goes_to_that_grid(self, world):
        body = await world.report(
            "resident", **point_in(1)
        )  # the resident lives in grid 0, the problem is in 1
        row = await Report.get(id=body["id"])
        assert row.grid_id == world.grid(0, 1).id and row.community_id == world.tree.community(0).id
        assert row.level == Level.GRID and body["grid_name"] == world.grid(0, 1).name

    async def test_without_a_point_the_household_decides(self, world):
        body = await world.report("resident_b", lat=None, lng=None)
        row = await Report.get(id=body["id"])
        assert row.grid_id == world.grid(0, 1).id
        assert row.household_id == world["resident_b"].household_id

    async def test_an_explicit_building_wins(self, world):
        body = await world.report("resident", building_id=world.tree.building(1, 1).id)
        row = await Report.get(id=body["id"])
        assert (row.grid_id, row.building_id) == (world.grid(1, 1).id, world.tree.building(1, 1).id)

    async def test_a_point_outside_every_polygon_falls_back_to_the_household(self, world):
        body = await world.report("resident", lat=BASE_LAT + 0.5, lng=BASE_LNG + 0.5)
        assert (await Report.get(id=body["id"])).grid_id == world.grid(0, 0).id

    async def test_without_polygons_the_nearest_building_decides(self, world):
        from backend.models.org import OrgUnit
        from backend.reports import routing

        await OrgUnit.filter(level="grid").update(boundary=None)
        far = world.tree.building(1, 1)
        far.lat, far.lng = 36.5, 104.5
        await far.save(update_fields=["lat", "lng"])
        routing.forget_geometry()
        body = await world.report("resident", lat=36.5003, lng=104.5003)
        assert (await Report.get(id=body["id"])).grid_id == world.grid(1, 1).id

    async def test_unplaceable_reports_land_in_the_community_queue(self, world):
        from backend.models.user import User

        await User.filter(id=world["resident"].id).update(household_id=None)
        body = await world.report("resident", lat=None, lng=None)
        row = await Report.get(id=body["id"])
        assert row.grid_id is None and row.community_id == world.tree.community(0).id
        assert row.level == Level.COMMUNITY

    async def test_a_category_that_starts_at_the_community(self, world):
        body = await world.report("resident", category="safety.fire")
        assert body["level"] == "community"


class TestFiling:
    async def test_one_transaction_writes_the_report_its_history_its_clock_and_the_teams_inbox(self, world):
        body = await world.report("resident")
        rid = body["id"]
        events = await ReportEvent.filter(report_id=rid)
        assert [(e.action, e.from_status, e.to_status) for e in events] == [("submit", None, "submitted")]
        clock = await OutboxEvent.get(kind="reports.clock")
        assert clock.payload == {"report_id": rid, "version": 1, "clock": "accept"}
        told = set(await InboxItem.filter(kind="report.created").values_list("user_id", flat=True))
        assert told == {world["grid_worker"].id, world["grid_leader"].id}
        assert body["status"] == "submitted" and body["mine"] is True and body["reporter"] is None

    async def test_staff_file_on_behalf_of_a_resident_and_it_is_recorded(self, world):
        body = await world.report("grid_worker", resident_id=world["resident"].id, channel="phone")
        row = await Report.get(id=body["id"])
        assert row.reporter_id == world["resident"].id and row.filed_by_id == world["grid_worker"].id
        event = await ReportEvent.get(report_id=row.id)
        assert (event.actor_id, event.on_behalf_of_id) == (world["grid_worker"].id, world["resident"].id)
        assert await AuditLog.exists(action="report:file_on_behalf", object_id=str(row.id))
        told = set(await InboxItem.filter(kind="report.created").values_list("user_id", flat=True))
        assert told == {world["grid_leader"].id}  # the worker who filed it is not told of their own filing
        mine = (await world.get("resident", "/api/v1/reports/mine")).json()["items"]
        assert [r["id"] for r in mine] == [row.id]

    async def test_staff_cannot_file_for_a_resident_outside_their_scope(self, world):
        body = await world.report(
            "grid_worker", expect=422, resident_id=world["outsider"].id, channel="phone"
        )
        assert body["error"] == "BadTarget"

    async def test_residents_file_through_the_app_only(self, world):
        assert (await world.report("resident", expect=422, channel="hotline"))["error"] == "BadChannel"
        assert (await world.report("resident", expect=403, resident_id=world["neighbour"].id))[
            "error"
        ] == "Forbidden"

    async def test_unknown_categories_are_refused(self, world):
        assert (await world.report("resident", expect=422, category="sanitation.nothing"))[
            "error"
        ] == "UnknownCategory"
        assert await Report.all().count() == 0


class TestSimilarAndSupport:
    async def test_similar_open_reports_nearby_show_only_public_fields(self, world):
        first = await world.report("resident")
        await world.report("resident", category="traffic.parking")  # another category: not similar
        resp = await world.get(
            "neighbour", "/api/v1/reports/similar", category="sanitation.garbage", **point_in(0)
        )
        found = resp.json()
        assert [r["id"] for r in found] == [first["id"]]
        assert set(found[0]) == {
            "id",
            "category_name",
            "status_label",
            "distance_m",
            "support_count",
            "supported",
            "created_on",
        }
        far = await world.get(
            "neighbour", "/api/v1/reports/similar", category="sanitation.garbage", **point_in(3)
        )
        assert far.json() == []

    async def test_i_have_it_too_once_per_person(self, world):
        rid = (await world.report("resident"))["id"]
        resp = await world.client.post(f"/api/v1/reports/{rid}/support", headers=world.headers["neighbour"])
        assert resp.status_code == 200 and resp.json()["support_count"] == 1
        again = await world.client.post(f"/api/v1/reports/{rid}/support", headers=world.headers["neighbour"])
        assert again.status_code == 409 and again.json()["error"] == "AlreadySupported"
        own = await world.client.post(f"/api/v1/reports/{rid}/support", headers=world.headers["resident"])
        assert own.status_code == 409
        assert await ReportSupport.filter(report_id=rid).count() == 1
        assert (await Report.get(id=rid)).support_count == 1
        similar = await world.get(
            "neighbour", "/api/v1/reports/similar", category="sanitation.garbage", **point_in(0)
        )
        assert similar.json()[0]["supported"] is True

    async def test_support_does_not_reach_another_street(self, world, settings):
        from backend.models.org import OrgLevel
        from backend.models.user import Role
        from tests.builders import auth_headers, make_unit, make_user

        other_street = await make_unit(OrgLevel.STREET, "别的街道")
        stranger = await make_user(
            Role.RESIDENT, await make_unit(OrgLevel.COMMUNITY, "别的社区", other_street)
        )
        rid = (await world.report("resident"))["id"]
        resp = await world.client.post(
            f"/api/v1/reports/{rid}/support", headers=await auth_headers(settings, stranger)
        )
        assert resp.status_code == 404


class TestTaxonomy:
    async def test_the_shipped_file_is_valid_and_served(self, world):
        served = (await world.get("resident", "/api/v1/reports/categories")).json()
        names = [c["name"] for c in served]
        assert names[:3] == ["环境卫生", "市政设施", "供暖供水供电燃气"] and "其他" in names
        assert all(c["children"] for c in served)

    def test_sub_categories_override_level_and_clocks(self):
        manhole = categories.taxonomy().get("facilities.manhole")
        assert (
            manhole.default_level == Level.COMMUNITY
            and manhole.clock(Level.COMMUNITY).accept.total_seconds() == 7200
        )
        assert manhole.clock(Level.GRID) == categories.taxonomy().get("facilities.road").clock(Level.GRID)

    @pytest.mark.parametrize(
        "breakage",
        [
            lambda d: d["categories"][0].pop("clocks"),
            lambda d: d["categories"][0]["clocks"].pop("street"),
            lambda d: d["categories"][0]["children"][0].update(code="other.stolen"),
            lambda d: d["categories"][1].update(code=d["categories"][0]["code"]),
            lambda d: d["categories"][0].update(default_level="household"),
            lambda d: d["categories"][0]["clocks"]["grid"].update(accept_hours=-1),
        ],
    )
    def test_a_broken_file_stops_the_start_with_a_reason(self, breakage):
        data = json.loads(categories.DEFAULT_PATH.read_text(encoding="utf-8"))
        breakage(data)
        with pytest.raises(TaxonomyError):
            categories.parse(json.dumps(data))
