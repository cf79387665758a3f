"""A report placed by building only (named, or the reporter's household's) takes the building's position, so
"我也遇到" (similar reports nearby or in the same building) and the map find it. Buildings and reports both
store GCJ-02: the position is copied, not converted."""

from __future__ import annotations

import pytest

from backend.models.reports import Report, ReportEvent
from tests.reports.conftest import point_in

SIMILAR = "/api/v1/reports/similar"
NO_POINT = {"lat": None, "lng": None}


async def similar(world, *, expect: int = 200, **params):  # type: ignore[no-untyped-def]
    """What the neighbour sees before filing a garbage report."""
    resp = await world.get("neighbour", SIMILAR, expect=expect, category="sanitation.garbage", **params)
    return resp.json()


@pytest.fixture
async def placed(world):  # type: ignore[no-untyped-def]
    """Building c0g0 stands in the middle of grid c0g0 (a few metres off the test point)."""
    building = world.tree.building(0, 0)
    spot = point_in(0)
    building.lat, building.lng = spot["lat"] + 0.0001, spot["lng"]
    await building.save(update_fields=["lat", "lng"])
    return world, building


class TestBuildingOnlyReports:
    async def test_a_named_building_gives_the_report_its_position(self, placed):
        world, building = placed
        rid = (await world.report("resident", building_id=building.id, **NO_POINT))["id"]
        row = await Report.get(id=rid)
        assert (row.lat, row.lng) == (building.lat, building.lng)
        assert row.building_id == building.id and row.grid_id == world.grid(0, 0).id
        event = await ReportEvent.get(report_id=rid, action="submit")
        assert event.data["located_by"] == "building"

    async def test_it_is_found_by_a_nearby_point(self, placed):
        world, building = placed
        rid = (await world.report("resident", building_id=building.id, **NO_POINT))["id"]
        found = await similar(world, **point_in(0))
        assert [r["id"] for r in found] == [rid] and found[0]["distance_m"] <= 50
        far = await similar(world, **point_in(3))
        assert far == []

    async def test_it_is_found_by_the_same_building(self, placed):
        world, building = placed
        rid = (await world.report("resident", building_id=building.id, **NO_POINT))["id"]
        other = world.tree.building(0, 1)  # another grid's building, no position: nothing about it
        found = await similar(world, building_id=building.id)
        assert [r["id"] for r in found] == [rid]
        assert await similar(world, building_id=other.id) == []

    async def test_the_reporters_household_building_is_used_when_nothing_else_is_given(self, placed):
        world, building = placed
        rid = (await world.report("resident", **NO_POINT))["id"]  # 居民甲 lives in building c0g0
        row = await Report.get(id=rid)
        assert (row.lat, row.lng) == (building.lat, building.lng) and row.household_id is not None
        found = await similar(world, **point_in(0))
        assert [r["id"] for r in found] == [rid]

    async def test_a_given_point_is_kept(self, placed):
        world, building = placed
        spot = point_in(0)
        rid = (await world.report("resident", building_id=building.id, **spot))["id"]
        row = await Report.get(id=rid)
        assert (row.lat, row.lng) == (spot["lat"], spot["lng"])
        assert "located_by" not in (await ReportEvent.get(report_id=rid, action="submit")).data

    async def test_a_building_without_position_is_still_found_by_building(self, world):
        building = world.tree.building(0, 0)
        rid = (await world.report("resident", building_id=building.id, **NO_POINT))["id"]
        assert (await Report.get(id=rid)).lat is None
        found = await similar(world, building_id=building.id)
        assert [r["id"] for r in found] == [rid] and found[0]["distance_m"] == 0
        assert await similar(world, **point_in(0)) == []


class TestSimilarInput:
    async def test_a_point_or_a_building_is_required(self, world):
        body = await similar(world, expect=422)
        assert body["error"] == "ValidationFailed" and "楼栋" in body["message"]
        assert (await similar(world, expect=422, lat=36.0))["error"] == "ValidationFailed"

    async def test_an_unknown_building_is_a_422(self, world):
        body = await similar(world, expect=422, building_id=10**9)
        assert body["error"] == "BadTarget" and body["message"] == "找不到该楼栋"
        grid = world.grid(0, 0)  # a unit that is not a building
        assert (await similar(world, expect=422, building_id=grid.id))["error"] == "BadTarget"
