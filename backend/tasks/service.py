"""Tasks of the 服务快递站: creation (a delivery order's task, help requests, many at once), the race-safe
accept, and the rest of the transition table. Every edge is one conditional UPDATE from the current status
plus a ``TaskEvent`` in the same transaction; an edge not in ``EDGES`` raises ``InvalidTransition``.

    offered ──accept──▶ accepted ──pick_up──▶ picked_up ──deliver──▶ delivered ──confirm──▶ confirmed
       ▲                  │  └──────────deliver (help tasks)──────────▲
       └──────drop────────┘
    offered / accepted / picked_up ──cancel──▶ cancelled

Callers: ``from backend.tasks import service as tasks``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tortoise.expressions import F, Subquery

from backend.config import Settings
from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import InvalidTransition
from backend.core.timeutil import utcnow
from backend.models.org import Household, OrgUnit
from backend.models.store import Order, Store
from backend.models.tasks import (
    OfferStatus,
    Task,
    TaskAssignment,
    TaskEvent,
    TaskKind,
    TaskOffer,
    TaskStatus,
)
from backend.models.user import User
from backend.notifications.service import notify
from backend.outbox import service as outbox
from backend.store.places import home_point, place_of
from backend.tasks import enums, matching, repository
from backend.tasks.exceptions import (
    NoLocation,
    OfferWithdrawn,
    TaskAlreadyClaimed,
    TaskCancelled,
    TaskNotFound,
    TooManyActiveTasks,
)
from backend.volunteers import geohash
from backend.volunteers import repository as volunteers

T = TaskStatus
EDGES = {
    (T.OFFERED, T.ACCEPTED): "accept",
    (T.ACCEPTED, T.OFFERED): "drop",
    (T.ACCEPTED, T.PICKED_UP): "pick_up",
    (T.PICKED_UP, T.DELIVERED): "deliver",
    (T.ACCEPTED, T.DELIVERED): "deliver",
    (T.DELIVERED, T.CONFIRMED): "confirm",
    (T.OFFERED, T.CANCELLED): "cancel",
    (T.ACCEPTED, T.CANCELLED): "cancel",
    (T.PICKED_UP, T.CANCELLED): "cancel",
}
WITHDRAWN_JOB = "tasks.withdrawn"
DUE_JOB = "tasks.due"
MEDIA_OWNER = "task"  # media attached to a task (the delivery photo): owner_type in media_file


async def _edge(
    task: Task,
    to: TaskStatus,
    *,
    actor_id: int | None,
    where: dict | None = None,
    reason: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    **changes,
) -> bool:  # type: ignore[no-untyped-def]
    """Take one edge of ``EDGES`` with a conditional UPDATE; False if the task was no longer where it was."""
    frm = TaskStatus(task.status)
    action = EDGES.get((frm, to))
    if action is None:
        raise (
            TaskCancelled()
            if frm is T.CANCELLED
            else InvalidTransition(detail={"from": frm.value, "to": to.value})
        )
    now = utcnow()
    if not await Task.filter(id=task.id, status=frm, **(where or {})).update(
        status=to, updated_at=now, **changes
    ):
        return False
    on_behalf = task.requester_id if actor_id not in (None, task.requester_id, task.volunteer_id) else None
    await TaskEvent.create(
        task_id=task.id,
        action=action,
        from_status=frm,
        to_status=to,
        actor_id=actor_id,
        on_behalf_of_id=on_behalf,
        volunteer_id=changes.get("volunteer_id", task.volunteer_id),
        reason=reason,
        lat=lat,
        lng=lng,
    )
    task.status = to
    for key, value in changes.items():
        if not isinstance(value, F):
            setattr(task, key, value)
    return True


async def _family(task: Task) -> list[int]:
    """Who hears about a task: the requester and the other people of the household."""
    people = set()
    if task.requester_id:
        people.add(task.requester_id)
    if task.household_id:
        people |= set(
            await User.filter(household_id=task.household_id, is_active=True).values_list("id", flat=True)
        )
    return sorted(people)


async def _tell(people: list[int], kind: str, task: Task, title: str, body: str = "") -> None:
    if people:
        await notify(
            people,
            kind,
            {
                "title": title[:64],
                "body": body,
                "link": f"pages/tasks/detail?id={task.id}",
                "task_id": task.id,
            },
        )


# ------------------------------------------------------------------------------------------------ creating


async def _create(
    settings: Settings,
    *,
    kind: TaskKind,
    title: str,
    place: dict,
    origin: tuple[float, float],
    actor_id: int,
    **fields,
) -> Task:  # type: ignore[no-untyped-def]
    """A new task with its history row, its due-time check and its first round of matching. A task this new
    cannot have those jobs yet, so they skip their dedupe keys (and the extra round trips those cost)."""
    now = utcnow()
    requester = fields.get("requester_id")
    task = await repository.insert_task(
        {
            "kind": kind.value,
            "title": title[:64],
            "origin_lat": origin[0],
            "origin_lng": origin[1],
            "status": T.OFFERED.value,
            "round": 0,
            "wave": -1,
            "wave_seconds": settings.task_offer_wave_seconds,
            "created_by_id": actor_id,
            "due_at": now + timedelta(minutes=settings.task_due_minutes),
            "created_at": now,
            "updated_at": now,
            **place,
            **fields,
        },
        on_behalf_of_id=requester if requester != actor_id else None,
    )
    await outbox.enqueue(DUE_JOB, {"task_id": task.id}, run_at=task.due_at)
    await matching.start(task, new=True)
    return task


async def open_delivery_task(
    settings: Settings,
    order: Order,
    store: Store,
    household: Household,
    home: tuple[float, float] | None,
    *,
    actor_id: int,
) -> int:
    """The delivery task of an order (in the order's transaction), matched from the store; returns its id.
    ``home`` is where the household is (``store.places.home_point``), if the map knows."""
    distance = round(geohash.distance_m(store.lat, store.lng, *home)) if home else None
    task = await _create(
        settings,
        kind=TaskKind.DELIVERY,
        title=f"爱心超市送货上门（订单 #{order.id}）",
        place=place_of(household),
        origin=(store.lat, store.lng),
        actor_id=actor_id,
        order_id=order.id,
        store_id=store.id,
        requester_id=order.resident_id,
        household_id=household.id,
        dest_lat=home[0] if home else None,
        dest_lng=home[1] if home else None,
        distance_m=distance,
        required_skill="delivery",
        note=order.note,
    )
    return task.id


async def request_help(
    settings: Settings,
    resident: User,
    household: Household | None,
    community: OrgUnit,
    kind: tuple[str, str, str | None],
    *,
    note: str | None,
    lat: float | None,
    lng: float | None,
    actor_id: int,
) -> Task:
    """A resident asks for help (or staff ask for them): matched from where the resident is."""
    origin = (lat, lng) if lat is not None and lng is not None else await home_point(household)
    if origin is None:
        raise NoLocation()
    code, name, skill = kind
    async with atomic():
        task = await _create(
            settings,
            kind=TaskKind.HELP,
            title=name,
            help_kind=code,
            required_skill=skill,
            note=note,
            place=place_of(household or community),
            origin=origin,
            actor_id=actor_id,
            requester_id=resident.id,
            household_id=household.id if household else None,
            dest_lat=origin[0],
            dest_lng=origin[1],
        )
        await audit.record(
            "task:request",
            actor_id=actor_id,
            object_type="task",
            object_id=task.id,
            on_behalf_of_id=resident.id if actor_id != resident.id else None,
        )
    return task


async def raise_batch(
    settings: Settings,
    households: list[Household],
    primary: dict[int, int],
    kind: tuple[str, str, str | None],
    *,
    title: str | None,
    note: str | None,
    actor_id: int,
) -> tuple[str, list[int]]:
    """Many help tasks at once (an emergency): one per household, matched by the workers as they come."""
    batch_key = str(uuid.uuid4())
    code, name, skill = kind
    ids = []
    async with atomic():
        for household in households:
            origin = await home_point(household)
            if origin is None:
                continue
            task = await _create(
                settings,
                kind=TaskKind.HELP,
                title=title or name,
                help_kind=code,
                required_skill=skill,
                note=note,
                place=place_of(household),
                origin=origin,
                actor_id=actor_id,
                requester_id=primary.get(household.id),
                household_id=household.id,
                dest_lat=origin[0],
                dest_lng=origin[1],
                batch_key=batch_key,
            )
            ids.append(task.id)
        await audit.record(
            "task:batch",
            actor_id=actor_id,
            object_type="task_batch",
            object_id=batch_key,
            detail={"created": len(ids), "help_kind": code},
        )
    return batch_key, ids


# ------------------------------------------------------------------------------------------------ accepting


async def accept(task: Task, volunteer_id: int) -> Task:
    """First come, first served. One conditional UPDATE on the task row decides: status still ``offered`` and
    an open offer to this volunteer. Then the volunteer's load (conditional UPDATE, bounded), the offers (the
    others withdrawn, told after commit through the outbox), the assignment row and the history row.

    ``task`` was read by the route's loader during this request. When that read already shows the task taken
    or cancelled, the answer is settled without a transaction: a task never goes back to ``offered`` within a
    round, so the losers of a race who arrive after the winner's commit (most of them) answer from that read
    instead of queueing on the task row's lock. Only a read that still says ``offered`` goes to the UPDATE."""
    if task.status != T.OFFERED:
        raise _refusal(task, volunteer_id)
    now = utcnow()
    offered = TaskOffer.filter(task_id=task.id, volunteer_id=volunteer_id, status=OfferStatus.OPEN).values(
        "task_id"
    )
    async with atomic():
        won = await Task.filter(id=task.id, status=T.OFFERED, id__in=Subquery(offered)).update(
            status=T.ACCEPTED, volunteer_id=volunteer_id, accepted_at=now, updated_at=now
        )
        if not won:
            raise await _why_not(task.id, volunteer_id)
        if not await volunteers.take_task_slot(volunteer_id):
            raise TooManyActiveTasks()
        await TaskOffer.filter(task_id=task.id, volunteer_id=volunteer_id, status=OfferStatus.OPEN).update(
            status=OfferStatus.ACCEPTED, updated_at=now
        )
        withdrawn = await TaskOffer.filter(task_id=task.id, status=OfferStatus.OPEN).update(
            status=OfferStatus.WITHDRAWN, updated_at=now
        )
        fresh = await Task.get(id=task.id)
        await TaskAssignment.create(task_id=task.id, volunteer_id=volunteer_id, round=fresh.round)
        await TaskEvent.create(
            task_id=task.id,
            action="accept",
            from_status=T.OFFERED,
            to_status=T.ACCEPTED,
            actor_id=volunteer_id,
            volunteer_id=volunteer_id,
        )
        if withdrawn:
            await outbox.enqueue(
                WITHDRAWN_JOB,
                {"task_id": task.id, "round": fresh.round},
                dedupe_key=f"{WITHDRAWN_JOB}:{task.id}:{fresh.round}",
            )
        await _tell(
            await _family(fresh),
            enums.ACCEPTED,
            fresh,
            f"志愿者已接单：{fresh.title}",
            "志愿者正在赶来，请保持电话畅通",
        )
    return fresh


async def _why_not(task_id: int, volunteer_id: int) -> Exception:
    """The claim did not happen: say why, in the volunteer's terms (this reads, the claim above decided). The
    route's loader already proved the task was offered to this volunteer at some point."""
    task = await Task.get_or_none(id=task_id).only("id", "status", "volunteer_id")
    if task is None:
        return TaskNotFound()
    return _refusal(task, volunteer_id)


def _refusal(task: Task, volunteer_id: int) -> Exception:
    if task.status == T.CANCELLED:
        return TaskCancelled()
    if task.volunteer_id == volunteer_id:
        return InvalidTransition("您已接下这个任务")
    if task.status != T.OFFERED:
        return TaskAlreadyClaimed(detail={"task_id": task.id})
    return OfferWithdrawn(detail={"task_id": task.id})


async def decline(task: Task, volunteer_id: int) -> None:
    async with atomic():
        if not await TaskOffer.filter(
            task_id=task.id, volunteer_id=volunteer_id, status=OfferStatus.OPEN
        ).update(status=OfferStatus.DECLINED, updated_at=utcnow()):
            raise OfferWithdrawn()


async def offer_to(task: Task, volunteer_id: int, *, actor_id: int) -> None:
    """Staff offer a waiting task to a volunteer they know (after an escalation, for instance)."""
    profile = await volunteers.profile_of(volunteer_id)
    if profile is None or profile.status != "active":
        from backend.volunteers.exceptions import VolunteerNotFound  # noqa: PLC0415

        raise VolunteerNotFound(detail={"loc": "body.volunteer_id"})
    if task.status != T.OFFERED:
        raise TaskAlreadyClaimed() if task.status != T.CANCELLED else TaskCancelled()
    d = geohash.distance_m(task.origin_lat, task.origin_lng, profile.lat, profile.lng)
    async with atomic():
        await TaskOffer.bulk_create(
            [
                TaskOffer(
                    task_id=task.id,
                    volunteer_id=volunteer_id,
                    round=task.round,
                    wave=task.wave,
                    distance_m=round(d),
                )
            ],
            ignore_conflicts=True,
        )
        await TaskOffer.filter(
            task_id=task.id, round=task.round, volunteer_id=volunteer_id, status=OfferStatus.DECLINED
        ).update(status=OfferStatus.OPEN)
        await TaskEvent.create(
            task_id=task.id,
            action="offer",
            from_status=T.OFFERED,
            to_status=T.OFFERED,
            actor_id=actor_id,
            volunteer_id=volunteer_id,
            reason="工作人员指定派单",
        )
        await _tell(
            [volunteer_id], enums.OFFER, task, f"新任务：{task.title}", "工作人员请您帮忙，点开查看并接单"
        )
