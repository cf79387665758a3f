"""Matching a task to volunteers, in waves (docs/delivery.md, docs/adr/0016):

wave 0  the resident's 帮扶对子 volunteer, alone (skipped when there is none, or they cannot take it);
wave k  the ``WAVES[k-1]`` best volunteers within its radius, ranked by distance, matching skill and load;
after   the last wave, the grid worker (or community staff) is told that nobody accepted.

A wave that finds nobody moves on at once; one that made offers schedules the next with an outbox timer
(``tasks.next_wave`` at ``run_at``). Every step is a conditional UPDATE of the task's ``wave`` within its
``round``, so a late timer, a duplicate delivery or an accept that got there first does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.core.timeutil import to_local, utcnow
from backend.models.notifications import Urgency
from backend.models.org import OrgUnit
from backend.models.tasks import Task, TaskEvent, TaskOffer, TaskStatus
from backend.models.volunteers import VolunteerProfile, VolunteerStatus
from backend.notifications import recipients
from backend.notifications.service import notify
from backend.outbox import service as outbox
from backend.tasks import enums, repository
from backend.volunteers import geohash
from backend.volunteers import repository as volunteers_repository
from backend.volunteers.repository import Candidate
from backend.volunteers.service import paired_volunteer

NEXT_WAVE = "tasks.next_wave"
START = "tasks.match"
SKILL_BONUS_KM = 1.5  # a matching skill is worth being 1.5 km nearer
LOAD_PENALTY_KM = 0.8  # each task already held counts as 0.8 km further


def hour_of_week(now: datetime) -> int:
    local = to_local(now)
    return local.weekday() * 24 + local.hour


def score(c: Candidate, skill: str | None) -> float:
    """Lower is better: kilometres away, plus load, minus a bonus for the skill the task needs."""
    bonus = SKILL_BONUS_KM if skill and skill in c.skills else 0.0
    return c.distance_m / 1000 + LOAD_PENALTY_KM * c.active_tasks - bonus


async def candidates(
    lat: float,
    lng: float,
    radius_m: int,
    count: int,
    *,
    skill: str | None,
    exclude: set[int],
    now: datetime | None = None,
) -> list[Candidate]:
    """The ``count`` best volunteers for a task at (lat, lng): the query the benchmark measures."""
    pool = await volunteers_repository.nearby(
        lat, lng, radius_m, pool=max(3 * count, 30), hour=hour_of_week(now or utcnow()), exclude=exclude
    )
    return sorted(pool, key=lambda c: (score(c, skill), c.distance_m, c.user_id))[:count]


async def _paired(task: Task, exclude: set[int]) -> list[Candidate]:
    volunteer_id = await paired_volunteer(task.requester_id)
    if volunteer_id is None or volunteer_id in exclude:
        return []
    profile = await VolunteerProfile.get_or_none(user_id=volunteer_id, status=VolunteerStatus.ACTIVE)
    if profile is None or profile.active_tasks >= profile.max_active:
        return []
    d = geohash.distance_m(task.origin_lat, task.origin_lng, profile.lat, profile.lng)
    return [Candidate(volunteer_id, d, tuple(profile.skills or ()), profile.active_tasks, profile.max_active)]


async def _offer(task: Task, wave: int, chosen: list[Candidate]) -> None:
    await TaskOffer.bulk_create(
        [
            TaskOffer(
                task_id=task.id,
                volunteer_id=c.user_id,
                round=task.round,
                wave=wave,
                distance_m=round(c.distance_m),
            )
            for c in chosen
        ]
    )
    label = "帮扶对子优先派单" if wave == enums.PAIRED_WAVE else f"第 {wave} 轮派单"
    await TaskEvent.create(
        task_id=task.id,
        action="offer",
        from_status=TaskStatus.OFFERED,
        to_status=TaskStatus.OFFERED,
        reason=f"{label}：{len(chosen)} 位志愿者",
    )
    await notify(
        [c.user_id for c in chosen],
        enums.OFFER,
        {
            "title": f"新任务：{task.title}"[:64],
            "body": "附近有居民需要帮助，点开任务大厅查看并接单",
            "link": f"pages/tasks/detail?id={task.id}",
            "task_id": task.id,
        },
        urgency=Urgency.URGENT if wave == enums.PAIRED_WAVE else Urgency.NORMAL,
    )


async def _escalate(task: Task) -> None:
    if not await Task.filter(
        id=task.id, status=TaskStatus.OFFERED, round=task.round, escalated_at__isnull=True
    ).update(escalated_at=utcnow()):
        return
    await TaskEvent.create(
        task_id=task.id,
        action="escalate",
        from_status=TaskStatus.OFFERED,
        to_status=TaskStatus.OFFERED,
        reason="各轮派单均无人接单，转网格员协调",
    )
    unit_id = task.grid_id or task.community_id
    unit = await OrgUnit.get_or_none(id=unit_id) if unit_id else None
    people = []
    if unit is not None:
        people = await recipients.grid_team(unit) if task.grid_id else await recipients.community_staff(unit)
    if not people and task.community_id:
        community = await OrgUnit.get_or_none(id=task.community_id)
        people = await recipients.community_staff(community) if community else []
    if people:
        await notify(
            people,
            enums.ESCALATED,
            {
                "title": f"无人接单：{task.title}"[:64],
                "body": "该任务各轮派单均无人接单，请联系志愿者或上门协助",
                "link": f"pages/tasks/detail?id={task.id}",
                "task_id": task.id,
            },
            urgency=Urgency.URGENT,
            dedupe_key=f"tasks.escalated:{task.id}:{task.round}",
        )


async def advance(task: Task, *, from_wave: int) -> int | None:
    """Move matching on from ``from_wave`` (call inside ``atomic()``): the next wave that finds someone makes
    its offers and sets its timer; if none does, escalate. Returns the wave that made offers, or None."""
    wave = from_wave + 1
    while wave <= len(enums.WAVES):
        moved = await Task.filter(
            id=task.id, status=TaskStatus.OFFERED, round=task.round, wave=wave - 1
        ).update(wave=wave)
        if not moved:
            return None  # taken, cancelled, or already moved on by someone else
        task.wave = wave
        exclude = await repository.excluded_volunteers(task)
        if wave == enums.PAIRED_WAVE:
            chosen = await _paired(task, exclude)
        else:
            radius, count = enums.WAVES[wave - 1]
            chosen = await candidates(
                task.origin_lat, task.origin_lng, radius, count, skill=task.required_skill, exclude=exclude
            )
        if chosen:
            await _offer(task, wave, chosen)
            await outbox.enqueue(
                NEXT_WAVE,
                {"task_id": task.id, "round": task.round, "wave": wave},
                run_at=utcnow() + timedelta(seconds=task.wave_seconds),
                dedupe_key=f"{NEXT_WAVE}:{task.id}:{task.round}:{wave}",
            )
            return wave
        wave += 1
    await _escalate(task)
    return None


async def start(task: Task, *, new: bool = False) -> None:
    """Queue the first wave of a new round (the worker runs it right after commit). A ``new`` task cannot have
    one queued yet: it skips the dedupe key."""
    await outbox.enqueue(
        START,
        {"task_id": task.id, "round": task.round},
        dedupe_key=None if new else f"{START}:{task.id}:{task.round}",
    )
