"""The one-statement submission (PostgreSQL, backend/reports/submission.py) writes exactly what the step-by-step
path writes (``workflow.submit`` then ``notices.created``, which SQLite runs): the same report, history row,
clock, notice, inbox rows, WeChat legs and outbox rows, row for row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.core import sql
from backend.core.db import atomic
from backend.models.notifications import InboxItem, NotificationEvent, WechatDelivery
from backend.models.outbox import OutboxEvent
from backend.models.reports import Level, Report, ReportEvent
from backend.notifications import runtime
from backend.reports import notices, submission, workflow
from backend.reports.categories import taxonomy
from backend.reports.repository import NEW_REPORT_COLUMNS

# everything a filing chooses; the rest (status, clocks, counters, times) the workflow derives
FILED = ("street_id", "community_id", "grid_id", "compound_id", "building_id", "household_id", "reporter_id",
         "filed_by_id", "description", "channel", "lat", "lng", "address", "photo_ids")
TIMES = ("created_at", "updated_at", "due_at", "response_due_at")


@pytest.fixture(autouse=True)
def _postgres_only():  # type: ignore[no-untyped-def]
    if sql.is_sqlite():
        pytest.skip("the one-statement submission is PostgreSQL's; SQLite files step by step")


@pytest.fixture
def with_template(settings):  # type: ignore[no-untyped-def]
    """A WeChat template for new reports, so that the notice has WeChat legs (and their outbox rows)."""
    runtime.configure(settings.model_copy(update={"wechat_templates": {notices.CREATED: {
        "template_id": "tmpl-report", "data": {"thing1": "{title:.20}", "time2": "{time}"}}}}))
    yield
    runtime.configure(None)


async def _written(report_id: int) -> dict[str, Any]:
    """Every row a submission wrote, without ids and times (durations from the report's creation kept)."""
    report = await Report.get(id=report_id)
    born = report.created_at
    row = {c: getattr(report, c) for c in NEW_REPORT_COLUMNS if c not in TIMES}
    row |= {c: getattr(report, c) - born for c in TIMES}
    history = [
        (e.action, e.actor_id, e.on_behalf_of_id, e.from_status, e.to_status, e.from_level, e.to_level, e.note,
         e.data, e.public, e.transition, e.created_at - born)
        for e in await ReportEvent.filter(report_id=report_id).order_by("id")
    ]
    clocks = [
        (o.payload | {"report_id": "R"}, o.dedupe_key, o.status, o.run_at - born, o.attempts, o.max_attempts)
        for o in await OutboxEvent.filter(kind=workflow.CLOCK_EVENT, payload__contains={"report_id": report_id})
    ]
    events = await NotificationEvent.filter(kind=notices.CREATED, data__contains={"report_id": report_id})
    assert len(events) <= 1
    notice, items, legs, pushes, sends = None, [], [], [], []
    if events:
        ev = events[0]
        assert ev.link == f"{notices.LINK}{report_id}"
        notice = (ev.title, ev.body, ev.urgency, ev.data | {"report_id": "R"}, ev.dedupe_key, ev.actor_id)
        found = await InboxItem.filter(event_id=ev.id).order_by("user_id")
        items = [(i.user_id, i.kind, i.urgency, i.silent, i.read_at) for i in found]
        deliveries = await WechatDelivery.filter(item_id__in=[i.id for i in found]).order_by("user_id")
        legs = [(d.user_id, d.urgency, d.status, d.attempts) for d in deliveries]
        pushes = [(o.status, o.attempts, o.max_attempts, o.run_at - ev.created_at)
                  for o in await OutboxEvent.filter(kind="notifications.push", payload={"event_id": ev.id})]
        legs_sent = {d.id for d in deliveries}
        sends = [(o.status, o.attempts, o.max_attempts)
                 for o in await OutboxEvent.filter(kind="notifications.wechat")
                 if o.payload["delivery_id"] in legs_sent]
    return {"report": row, "history": history, "clocks": clocks, "notice": notice, "items": items,
            "legs": legs, "pushes": pushes, "sends": sends}


async def _filed_step_by_step(like: Report, *, actor: workflow.Actor, data: dict[str, Any]) -> int:
    """The same filing through the path SQLite takes."""
    async with atomic():
        report = await workflow.submit(
            {c: getattr(like, c) for c in FILED}, category=taxonomy().get(like.category),
            level=Level(like.level), actor=actor, data=data,
        )
        await notices.created(report, actor_id=actor.user_id)
    return report.id


class TestOneStatement:
    @pytest.mark.parametrize("template", [False, True], ids=["no WeChat template", "with a WeChat template"])
    async def test_it_writes_what_the_steps_write(self, world, request, template):
        if template:
            request.getfixturevalue("with_template")
        body = await world.report("resident")
        one = await Report.get(id=body["id"])
        other = await _filed_step_by_step(one, actor=workflow.Actor(world["resident"].id), data={})
        ours, theirs = await _written(one.id), await _written(other)
        assert ours == theirs
        # and the comparison has something to compare
        assert [i[0] for i in ours["items"]] == sorted([world["grid_worker"].id, world["grid_leader"].id])
        assert len(ours["clocks"]) == len(ours["pushes"]) == 1
        assert len(ours["legs"]) == len(ours["sends"]) == (2 if template else 0)

    async def test_a_community_level_report_tells_the_community_staff(self, world):
        body = await world.report("resident", category="safety.fire")
        one = await Report.get(id=body["id"])
        assert one.level == Level.COMMUNITY
        other = await _filed_step_by_step(one, actor=workflow.Actor(world["resident"].id), data={})
        ours, theirs = await _written(one.id), await _written(other)
        assert ours == theirs and [i[0] for i in ours["items"]] == [world["community_staff"].id]

    async def test_the_filer_is_not_told_and_nobody_left_means_no_notice(self, world):
        """A grid worker filing in their own grid tells the leader only; with the leader gone, nobody: then
        no event, no inbox rows and no push are written (as ``notify`` writes nothing for nobody)."""
        actor = workflow.Actor(world["grid_worker"].id)
        like = await Report.get(id=(await world.report("resident"))["id"])
        values = {c: getattr(like, c) for c in FILED}
        category = taxonomy().get(like.category)
        told = await submission.submit(values, category=category, level=Level.GRID, actor=actor, data={})
        assert (await _written(told.id))["items"] == [
            (world["grid_leader"].id, notices.CREATED, "normal", False, None)
        ]
        await world["grid_leader"].grants.all().delete()
        alone = await submission.submit(values, category=category, level=Level.GRID, actor=actor, data={})
        written = await _written(alone.id)
        assert (written["notice"], written["items"], written["pushes"]) == (None, [], [])
        assert len(written["clocks"]) == 1 and len(written["history"]) == 1

    async def test_the_report_it_returns_is_the_stored_row(self, world):
        like = await Report.get(id=(await world.report("resident"))["id"])
        returned = await submission.submit(
            {c: getattr(like, c) for c in FILED}, category=taxonomy().get(like.category), level=Level.GRID,
            actor=workflow.Actor(world["resident"].id), data={"located_by": "point"},
        )
        stored = await Report.get(id=returned.id)
        for name in Report._meta.fields_map:
            if name in Report._meta.fetch_fields:
                continue
            assert getattr(returned, name) == getattr(stored, name), name
        assert returned.due_at - returned.created_at == taxonomy().get(like.category).clock(Level.GRID).accept
        assert returned.due_at - returned.created_at > timedelta(0)
