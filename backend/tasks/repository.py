"""Queries of the task domain. Staff lists start from ``Scope``; a volunteer's view starts from the offers
made to them (``offered_to``), never from the task table."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from backend.core import sql
from backend.core.timeutil import utcnow
from backend.models.org import Household, OrgUnit
from backend.models.tasks import HelpKind, OfferStatus, Task, TaskOffer, TaskStatus
from backend.org.scope import Scope

OPEN_STATES = (TaskStatus.OFFERED, TaskStatus.ACCEPTED, TaskStatus.PICKED_UP, TaskStatus.DELIVERED)


# A new task and its first history row: hand-written SQL (backend/core/sql.py), one statement on PostgreSQL (a
# data-modifying CTE), since every delivery order and every help request creates one.
NEW_TASK_COLUMNS = (
    "kind",
    "help_kind",
    "title",
    "note",
    "order_id",
    "store_id",
    "requester_id",
    "household_id",
    "created_by_id",
    "origin_lat",
    "origin_lng",
    "dest_lat",
    "dest_lng",
    "distance_m",
    "required_skill",
    "status",
    "round",
    "wave",
    "wave_seconds",
    "due_at",
    "batch_key",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
    "created_at",
    "updated_at",
)
_N = len(NEW_TASK_COLUMNS)
_INSERT_TASK = (
    f"INSERT INTO task ({', '.join(NEW_TASK_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, _N + 1))}) RETURNING *"
)
_CREATE_EVENT = (
    "INSERT INTO task_event (task_id, action, from_status, to_status, actor_id, on_behalf_of_id, created_at)"
)
_INSERT_WITH_EVENT = (
    f"WITH t AS ({_INSERT_TASK}), e AS ({_CREATE_EVENT} SELECT id, 'create', NULL, status,"
    f" created_by_id, ${_N + 1}::bigint, created_at FROM t) SELECT * FROM t"
)
_INSERT_EVENT = f"{_CREATE_EVENT} VALUES ($1, 'create', NULL, $2, $3, $4, $5)"


async def insert_task(values: dict[str, Any], *, on_behalf_of_id: int | None) -> Task:
    """A new task (``values`` by ``NEW_TASK_COLUMNS``, absent ones NULL) and its ``create`` history row."""
    params = [values.get(c) for c in NEW_TASK_COLUMNS]
    if not sql.is_sqlite():
        return Task._init_from_db(**(await sql.fetch(_INSERT_WITH_EVENT, *params, on_behalf_of_id))[0])
    task = Task._init_from_db(**(await sql.fetch(_INSERT_TASK, *params))[0])
    await sql.execute(
        _INSERT_EVENT, task.id, task.status, task.created_by_id, on_behalf_of_id, task.created_at
    )
    return task


def scoped_tasks(scope: Scope) -> QuerySet[Task]:
    return scope.filter(Task.all())


async def staff_tasks(
    scope: Scope, *, status: TaskStatus | None, late: bool, escalated: bool, before_id: int | None, limit: int
) -> list[Task]:
    qs = scoped_tasks(scope)
    if status is not None:
        qs = qs.filter(status=status)
    if late:
        qs = qs.filter(status__in=list(OPEN_STATES), due_at__lt=utcnow())
    if escalated:
        qs = qs.filter(status=TaskStatus.OFFERED, escalated_at__not_isnull=True)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


def offered_to(volunteer_id: int) -> QuerySet[Task]:
    """Tasks this volunteer was ever offered, or holds: the only tasks they may see."""
    offered = TaskOffer.filter(volunteer_id=volunteer_id).values("task_id")
    return Task.filter(Q(id__in=Subquery(offered)) | Q(volunteer_id=volunteer_id))


async def hall(volunteer_id: int, limit: int = 50) -> list[tuple[Task, TaskOffer]]:
    """Open offers to this volunteer on tasks still waiting for someone."""
    offers = (
        await TaskOffer.filter(volunteer_id=volunteer_id, status=OfferStatus.OPEN)
        .order_by("-id")
        .limit(limit)
    )
    tasks = {
        t.id: t for t in await Task.filter(id__in=[o.task_id for o in offers], status=TaskStatus.OFFERED)
    }
    return [(tasks[o.task_id], o) for o in offers if o.task_id in tasks]


async def held_by(volunteer_id: int) -> list[Task]:
    return await Task.filter(volunteer_id=volunteer_id, status__in=list(OPEN_STATES)).order_by("-id")


async def requested_by(
    user_id: int, household_id: int | None, *, before_id: int | None, limit: int
) -> list[Task]:
    who = Q(requester_id=user_id) | Q(household_id=household_id) if household_id else Q(requester_id=user_id)
    qs = Task.filter(who)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def excluded_volunteers(task: Task) -> set[int]:
    """Already offered in this round (any answer), or gave this task back before, or asked for it."""
    rows = await TaskOffer.filter(
        Q(task_id=task.id) & (Q(round=task.round) | Q(status=OfferStatus.DROPPED))
    ).values_list("volunteer_id", flat=True)
    return set(rows) | ({task.requester_id} if task.requester_id else set())


async def help_kinds(community_id: int | None) -> list[HelpKind]:
    if community_id is None:
        return []
    kinds = HelpKind.filter(community_id=community_id, is_active=True)  # scope: config of one community
    return await kinds.order_by("sort_order", "id")


async def places(tasks: list[Task]) -> dict[int, str]:
    """Unit id -> name for the communities and compounds of these tasks (the approximate place shown)."""
    ids = {i for t in tasks for i in (t.community_id, t.compound_id) if i}
    return dict(await OrgUnit.filter(id__in=list(ids)).values_list("id", "name")) if ids else {}


async def addresses(household_ids: list[int]) -> dict[int, str]:
    rows = await Household.filter(id__in=household_ids).select_related("building")
    return {h.id: h.address or f"{h.building.name}{h.door_no}" for h in rows}
