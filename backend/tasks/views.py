"""How a task looks to whoever asks: the door address and the delivery photo only to the holder, the household
and staff."""

from __future__ import annotations

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core.timeutil import utcnow
from backend.media import service as media
from backend.models.tasks import Task, TaskEvent, TaskStatus
from backend.models.user import User
from backend.tasks import repository
from backend.tasks.dependencies import is_family, staff
from backend.tasks.schemas import TaskEventOut, TaskOut
from backend.tasks.service import MEDIA_OWNER
from backend.volunteers import geohash


def may_see_address(principal: Principal, task: Task) -> bool:
    return task.volunteer_id == principal.id or is_family(principal, task) or staff(principal).covers(task)


async def tasks_out(
    principal: Principal,
    tasks: list[Task],
    *,
    distances: dict[int, int] | None = None,
    at: tuple[float, float] | None = None,
) -> list[TaskOut]:
    names = await repository.places(tasks)
    shown = [t.household_id for t in tasks if t.household_id and may_see_address(principal, t)]
    addresses = await repository.addresses(shown) if shown else {}
    people = dict(
        await User.filter(id__in=[t.requester_id for t in tasks if t.requester_id]).values_list("id", "name")
    )
    now = utcnow()
    out = []
    for t in tasks:
        distance = t.distance_m
        if at is not None:
            distance = round(geohash.distance_m(at[0], at[1], t.origin_lat, t.origin_lng))
        elif distances and t.id in distances:
            distance = distances[t.id]
        place = "".join(names.get(i, "") for i in (t.community_id, t.compound_id) if i) or None
        out.append(
            TaskOut(
                id=t.id,
                kind=t.kind,
                help_kind=t.help_kind,
                title=t.title,
                note=t.note,
                status=t.status,
                status_label=TaskStatus(t.status).label,
                is_late=t.status not in (TaskStatus.CONFIRMED, TaskStatus.CANCELLED) and t.due_at < now,
                due_at=t.due_at,
                created_at=t.created_at,
                order_id=t.order_id,
                store_id=t.store_id,
                community_id=t.community_id,
                place=place,
                address=addresses.get(t.household_id) if t.household_id in addresses else None,
                requester_id=t.requester_id,
                requester_name=people.get(t.requester_id),
                volunteer_id=t.volunteer_id,
                distance_m=distance,
                round=t.round,
                wave=t.wave,
                escalated=t.escalated_at is not None,
                accepted_at=t.accepted_at,
                picked_up_at=t.picked_up_at,
                delivered_at=t.delivered_at,
                confirmed_at=t.confirmed_at,
                photo_media_id=t.photo_media_id,
            )
        )
    return out


async def task_out(principal: Principal, task: Task, settings: Settings | None = None) -> TaskOut:
    """One task; with ``settings`` (the detail view) the photo's signed URL, for those who may see it."""
    out = (await tasks_out(principal, [task]))[0]
    if settings is not None and task.photo_media_id is not None and may_see_address(principal, task):
        out.photo_url = (await media.urls(settings, [task.photo_media_id])).get(task.photo_media_id)
    return out


async def _may_see_task_media(principal: Principal, task_id: int) -> bool:
    task = await Task.get_or_none(id=task_id)
    return task is not None and may_see_address(principal, task)


media.register_access(MEDIA_OWNER, _may_see_task_media)


def event_out(e: TaskEvent) -> TaskEventOut:
    return TaskEventOut(
        action=e.action,
        from_status=e.from_status,
        to_status=e.to_status,
        actor_id=e.actor_id,
        on_behalf_of_id=e.on_behalf_of_id,
        volunteer_id=e.volunteer_id,
        reason=e.reason,
        created_at=e.created_at,
    )
