"""Outbox handlers of the task domain: the first wave of a round, the timers between waves, telling volunteers
an offer was withdrawn, and the due-time check. Each is idempotent: it acts only if the task is still where
the event found it (conditional UPDATEs in ``matching.advance``, dedupe keys on notifications)."""

from __future__ import annotations

from backend.core.db import atomic
from backend.models.org import OrgUnit
from backend.models.outbox import OutboxEvent
from backend.models.tasks import OfferStatus, Task, TaskOffer, TaskStatus
from backend.notifications import recipients
from backend.notifications.service import notify
from backend.outbox.registry import handler
from backend.tasks import enums, matching
from backend.tasks.repository import OPEN_STATES
from backend.tasks.service import DUE_JOB, WITHDRAWN_JOB


@handler(matching.START)
async def start_round(event: OutboxEvent) -> None:
    async with atomic():
        task = await Task.get_or_none(id=event.payload["task_id"])
        if (
            task is not None
            and task.status == TaskStatus.OFFERED
            and task.round == event.payload["round"]
            and task.wave == -1
        ):
            await matching.advance(task, from_wave=-1)


@handler(matching.NEXT_WAVE)
async def next_wave(event: OutboxEvent) -> None:
    p = event.payload
    async with atomic():
        task = await Task.get_or_none(id=p["task_id"])
        if (
            task is not None
            and task.status == TaskStatus.OFFERED
            and task.round == p["round"]
            and task.wave == p["wave"]
        ):
            await matching.advance(task, from_wave=p["wave"])


@handler(WITHDRAWN_JOB)
async def tell_withdrawn(event: OutboxEvent) -> None:
    p = event.payload
    people = await TaskOffer.filter(
        task_id=p["task_id"], round=p["round"], status=OfferStatus.WITHDRAWN
    ).values_list("volunteer_id", flat=True)
    task = await Task.get_or_none(id=p["task_id"])
    if people and task is not None:
        async with atomic():
            await notify(
                sorted(set(people)),
                enums.WITHDRAWN,
                {
                    "title": f"任务已被接走：{task.title}"[:64],
                    "body": "其他志愿者已先接单，感谢您的热心",
                    "link": "pages/tasks/hall",
                    "task_id": task.id,
                },
                dedupe_key=f"{WITHDRAWN_JOB}:{task.id}:{p['round']}",
            )


@handler(DUE_JOB)
async def check_due(event: OutboxEvent) -> None:
    """At the due time, a task still open is late: the grid team hears about it (it is listed as late too)."""
    task = await Task.get_or_none(id=event.payload["task_id"])
    if task is None or task.status not in OPEN_STATES:
        return
    unit = await OrgUnit.get_or_none(id=task.grid_id or task.community_id or 0)
    if unit is None:
        return
    people = await recipients.grid_team(unit) if task.grid_id else await recipients.community_staff(unit)
    if people:
        async with atomic():
            await notify(
                people,
                enums.LATE,
                {
                    "title": f"任务超时未完成：{task.title}"[:64],
                    "body": f"状态：{TaskStatus(task.status).label}",
                    "link": f"pages/tasks/detail?id={task.id}",
                    "task_id": task.id,
                },
                dedupe_key=f"{DUE_JOB}:{task.id}",
            )
