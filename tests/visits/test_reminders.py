"""Reminders go out through notify() from outbox periodic jobs, once per person and period, whatever the number
of runs."""

from __future__ import annotations

from datetime import timedelta

from backend.models.notifications import InboxItem, NotificationEvent
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox import registry
from backend.outbox.worker import Worker
from backend.visits import months, tasks
from tests.visits.conftest import local

NOW = local(2026, 11, 18, 8, 5)  # a Wednesday


async def _titles(kind: str) -> list[tuple[int, str]]:
    events = await NotificationEvent.filter(kind=kind).order_by("id")
    out = []
    for e in events:
        for item in await InboxItem.filter(event_id=e.id):
            out.append((item.user_id, e.title))
    return out


class TestDue:
    async def test_once_per_visitor_and_week(self, world):
        await world.assign("party", world.h(0, 0, 1), world.h(0, 0, 2), at=local(2026, 10, 1))
        await world.assign("party_2", world.h(0, 1, 2), by="staff", at=local(2026, 10, 1))
        await world.visit("party_2", world.h(0, 1, 2), at=local(2026, 11, 17))  # nothing left to do
        assert await tasks.remind_due(NOW) == 1
        assert await _titles("visits.due") == [(world["party"].id, "有 2 户已逾期未走访，0 户待走访")]
        assert await tasks.remind_due(NOW + timedelta(hours=5)) == 0  # same week: nothing more
        assert await tasks.remind_due(NOW + timedelta(days=6)) == 1  # next Monday's week
        assert len(await _titles("visits.due")) == 2


class TestUnsubmittedMonth:
    async def test_once_per_visitor_and_month_until_submitted(self, client, world):
        last = months.previous_month()
        start, _ = months.bounds(last)
        await world.assign("party", world.h(0, 0, 1), at=start - timedelta(days=3))
        await world.assign("party_2", world.h(0, 1, 2), by="staff", at=start - timedelta(days=3))
        await client.post(f"/api/v1/visits/months/{last}/submit", headers=world.headers["party_2"])
        await world.assign("grid_worker", world.h(0, 0, 3), by="leader")  # only since today: nothing to submit
        assert await tasks.remind_month() == 1
        assert await _titles("visits.month_due") == [(world["party"].id, f"请提交{last}的走访台账")]
        assert await tasks.remind_month() == 0


class TestScheduling:
    async def test_the_periodic_jobs_run_through_the_outbox(self, world, settings, bus):
        registry.load_all()
        kinds = {job.kind for job in registry.periodic_jobs()}
        assert {"visits.remind_due", "visits.remind_month"} <= kinds
        await world.assign("party", world.h(0, 0, 1))
        worker = Worker(settings, bus)
        await worker.schedule_periodic()
        await worker.schedule_periodic()  # a second scheduler run adds nothing
        assert await OutboxEvent.filter(kind="visits.remind_due").count() == 1
        while await worker.run_due():
            pass
        done = await OutboxEvent.get(kind="visits.remind_due")
        assert done.status == OutboxStatus.DONE, done.last_error
        assert await NotificationEvent.filter(kind="visits.due").count() == 1
