"""Reminders, as outbox periodic jobs (daily, at 08:00 Beijing time: the UTC day boundary).

- ``visits.remind_due``: every visitor with overdue or due households hears about them once per ISO week;
- ``visits.remind_month``: every visitor who held households last month and has not submitted that month's 台账
  hears about it once per month.
Both are idempotent per person and period (the notification's dedupe key), so a job that runs twice, or a day
whose job ran late, sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.core.timeutil import to_local, utcnow
from backend.models.outbox import OutboxEvent
from backend.notifications.service import notify
from backend.outbox.registry import handler, periodic
from backend.visits import months, plan, repository
from backend.visits.enums import DUE, MONTH_DUE

BATCH = 200

periodic("visits.remind_due", every=timedelta(days=1))
periodic("visits.remind_month", every=timedelta(days=1))


def _week(now: datetime) -> str:
    year, week, _ = to_local(now).isocalendar()
    return f"{year}-W{week:02d}"


async def _visitors(fetch=repository.visitors_with_assignments):  # type: ignore[no-untyped-def]
    after = 0
    while ids := await fetch(after, BATCH):
        for visitor_id in ids:
            yield visitor_id
        after = ids[-1]


async def remind_due(now: datetime | None = None) -> int:
    """One reminder per visitor and week listing overdue and due households; returns how many were sent."""
    now = now or utcnow()
    week, sent = _week(now), 0
    async for visitor_id in _visitors():
        counts = await plan.counts(visitor_id, now=now)
        if not counts.overdue and not counts.due:
            continue
        title = (f"有 {counts.overdue} 户已逾期未走访，{counts.due} 户待走访" if counts.overdue
                 else f"本周期有 {counts.due} 户待走访")
        done = await notify([visitor_id], DUE, {
            "title": title, "link": "/pages/visits/plan",
            "body": "请在走访计划中查看，离您最近的排在前面", "data": {**counts.model_dump(), "week": week}},
            dedupe_key=f"visits:due:{visitor_id}:{week}")
        sent += done is not None
    return sent


async def remind_month(now: datetime | None = None) -> int:
    """One reminder per visitor for last month's 台账 while it is unsubmitted (draft or returned)."""
    now = now or utcnow()
    month, sent = months.previous_month(now), 0
    start, end = months.bounds(month)
    async for visitor_id in _visitors(lambda after, n: repository.visitors_in(start, end, after, n)):
        row = await repository.month_row(visitor_id, month)
        if row is not None and row.status in ("submitted", "approved"):
            continue
        done = await notify([visitor_id], MONTH_DUE, {
            "title": f"请提交{month}的走访台账", "link": f"/pages/visits/month?month={month}",
            "body": "上月走访台账还没有提交，请核对后提交网格长审核", "data": {"month": month}},
            dedupe_key=f"visits:month:{visitor_id}:{month}")
        sent += done is not None
    return sent


@handler("visits.remind_due")
async def _remind_due(event: OutboxEvent) -> None:
    await remind_due()


@handler("visits.remind_month")
async def _remind_month(event: OutboxEvent) -> None:
    await remind_month()
