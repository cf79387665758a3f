"""Clocks: an overdue accept or resolve clock escalates once and tells the handlers and the next level; a timer
that fires after the state moved on does nothing; the street level is marked overdue; unrated results close.
Timers are driven by the real outbox worker (``run_due``) with their ``run_at`` moved to now."""

from __future__ import annotations

import asyncio

from backend.models.notifications import InboxItem
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.reports import Clock, Level, Report, ReportEvent, ReportStatus
from backend.reports import service
from tests.reports.conftest import fire_clocks


async def _clock_events(report_id: int) -> list[dict]:
    rows = await OutboxEvent.filter(kind="reports.clock").order_by("id")
    return [r.payload for r in rows if r.payload["report_id"] == report_id]


async def _count(report_id: int, action: str) -> int:
    return await ReportEvent.filter(report_id=report_id, action=action).count()


class TestEscalation:
    async def test_an_unaccepted_report_goes_up_once_and_people_are_told(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await fire_clocks(settings, bus, kinds=("reports.clock",))
        row = await Report.get(id=rid)
        assert (row.level, row.status, row.was_overdue, row.version) == (
            Level.COMMUNITY,
            "submitted",
            True,
            2,
        )
        assert await _count(rid, "auto_escalate") == 1
        escalated = set(await InboxItem.filter(kind="report.escalated").values_list("user_id", flat=True))
        assert escalated == {world["community_staff"].id, world["grid_worker"].id, world["grid_leader"].id}
        overdue = set(await InboxItem.filter(kind="report.overdue").values_list("user_id", flat=True))
        assert {world["grid_worker"].id, world["community_staff"].id} <= overdue
        assert await InboxItem.filter(kind="report.status", user_id=world["resident"].id).exists()
        clocks = await _clock_events(rid)
        assert [c["version"] for c in clocks] == [1, 2]  # the community's accept clock is running

    async def test_each_level_escalates_once_then_the_street_is_marked_overdue(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        for _ in range(5):  # more rounds than levels: the extra ones find nothing to do
            await fire_clocks(settings, bus, kinds=("reports.clock",))
        row = await Report.get(id=rid)
        assert (row.level, row.clock, row.version) == (Level.STREET, None, 4)
        assert await _count(rid, "auto_escalate") == 2 and await _count(rid, "overdue") == 1
        assert not await OutboxEvent.filter(kind="reports.clock", status=OutboxStatus.PENDING).exists()

    async def test_a_timer_that_fires_after_the_report_moved_on_does_nothing(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "accept")
        assert await service.on_clock(rid, 1, "accept") == "stale"
        row = await Report.get(id=rid)
        assert (row.status, row.level, row.version) == (ReportStatus.ACCEPTED, Level.GRID, 2)
        assert await _count(rid, "auto_escalate") == 0

    async def test_the_resolve_clock_escalates_an_accepted_report(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "accept")
        assert await service.on_clock(rid, 2, "resolve") == "escalated"
        row = await Report.get(id=rid)
        assert (row.level, row.status, row.assignee_id) == (Level.COMMUNITY, ReportStatus.SUBMITTED, None)
        assert (await ReportEvent.filter(report_id=rid, action="auto_escalate").first()).data == {
            "clock": "resolve"
        }

    async def test_a_timer_delivered_twice_at_once_escalates_once(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        outcomes = await asyncio.gather(*(service.on_clock(rid, 1, "accept") for _ in range(5)))
        assert sorted(outcomes) == ["escalated"] + ["stale"] * 4
        assert await _count(rid, "auto_escalate") == 1

    async def test_asking_for_information_pauses_the_resolve_clock(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "accept")
        await world.act("grid_worker", rid, "request-info", question="哪个位置？")
        assert await service.on_clock(rid, 2, "resolve") == "stale"
        await world.act("resident", rid, "provide-info", note="3号楼东侧")
        row = await Report.get(id=rid)
        assert row.clock == Clock.RESOLVE and row.version == 4
        assert (await _clock_events(rid))[-1] == {"report_id": rid, "version": 4, "clock": "resolve"}


class TestAutoClose:
    async def test_an_unrated_result_closes_by_itself(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "resolve", note="已清运")
        await fire_clocks(settings, bus, kinds=("reports.clock",))
        row = await Report.get(id=rid)
        assert (row.status, row.rating) == (ReportStatus.CLOSED, None)
        assert await _count(rid, "auto_close") == 1
        assert (await world.act("resident", rid, "rate", score=5, expect=409)).json()[
            "error"
        ] == "InvalidTransition"
