"""After the accept: drop (back to matching), pick up at the store, deliver, confirm (hours credited once),
cancel. Each step is one edge of ``service.EDGES`` (conditional UPDATE + history row) in one transaction."""

from __future__ import annotations

from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import InvalidTransition
from backend.core.timeutil import utcnow
from backend.ledger import service as ledger
from backend.ledger.rules import TaskKind as LedgerTaskKind
from backend.media import service as media
from backend.models.org import OrgUnit
from backend.models.store import Order
from backend.models.tasks import (
    AssignmentStatus,
    OfferStatus,
    Task,
    TaskAssignment,
    TaskKind,
    TaskOffer,
)
from backend.store import orders as store_orders
from backend.tasks import enums, matching
from backend.tasks.exceptions import TaskCancelled
from backend.tasks.service import MEDIA_OWNER, T, _edge, _family, _tell
from backend.users.merge import on_user_merged
from backend.volunteers import repository as volunteers


def _stale(task: Task) -> Exception:
    return TaskCancelled() if task.status == T.CANCELLED else InvalidTransition("任务状态已变化，请刷新")


async def drop(task: Task, *, actor_id: int, reason: str | None) -> Task:
    """The volunteer (or staff for them) gives the task back: it goes to matching again in a new round,
    without them; their slot is freed."""
    holder, old_round = task.volunteer_id, task.round
    async with atomic():
        if not await _edge(
            task,
            T.OFFERED,
            actor_id=actor_id,
            where={"volunteer_id": holder},
            reason=reason,
            volunteer_id=None,
            accepted_at=None,
            round=old_round + 1,
            wave=-1,
            escalated_at=None,
        ):
            raise _stale(task)
        await volunteers.free_task_slot(holder)
        await TaskAssignment.filter(task_id=task.id, round=old_round).update(
            status=AssignmentStatus.DROPPED, ended_at=utcnow()
        )
        await TaskOffer.filter(task_id=task.id, round=old_round, volunteer_id=holder).update(
            status=OfferStatus.DROPPED
        )
        task.round = old_round + 1
        await matching.start(task)
        await _tell(
            await _family(task),
            enums.DROPPED,
            task,
            f"正在重新派单：{task.title}",
            "原接单志愿者无法完成，系统正在为您重新寻找志愿者",
        )
    return await Task.get(id=task.id)


async def pick_up(task: Task, *, actor_id: int) -> Task:
    """The store hands the goods to the volunteer holding the task (confirmed by store staff). The household
    hears that the goods are on the way, the volunteer that the hand-over is on record."""
    if task.kind != TaskKind.DELIVERY:
        raise InvalidTransition("帮办任务没有取货环节")
    async with atomic():
        if not await _edge(
            task,
            T.PICKED_UP,
            actor_id=actor_id,
            where={"volunteer_id": task.volunteer_id},
            picked_up_at=utcnow(),
        ):
            raise _stale(task)
        await store_orders.hand_over(await Order.get(id=task.order_id), actor_id=actor_id)
        await _tell(
            await _family(task), enums.PICKED_UP, task, f"志愿者已取货：{task.title}", "正在为您送货上门"
        )
        await _tell(
            [task.volunteer_id],
            enums.HANDED_OVER,
            task,
            f"取货已确认：{task.title}",
            "爱心超市已确认您取货，请尽快送到居民家中，送达后在小程序中标记完成",
        )
    return await Task.get(id=task.id)


async def deliver(
    task: Task, volunteer_id: int, *, lat: float, lng: float, photo_media_id: int | None, note: str | None
) -> Task:
    """The volunteer says it is done, with where they were (and a photo if they took one: their own upload,
    not used anywhere yet, attached to the task in the same transaction, else MediaNotUsable and nothing
    changes)."""
    to = T.DELIVERED
    if task.kind == TaskKind.DELIVERY and task.status == T.ACCEPTED:
        raise InvalidTransition("请先到爱心超市取货")
    async with atomic():
        if not await _edge(
            task,
            to,
            actor_id=volunteer_id,
            where={"volunteer_id": volunteer_id},
            lat=lat,
            lng=lng,
            reason=note,
            delivered_at=utcnow(),
            delivered_lat=lat,
            delivered_lng=lng,
            photo_media_id=photo_media_id,
            delivery_note=note,
        ):
            raise _stale(task)
        if photo_media_id is not None:
            await media.attach(
                [photo_media_id], uploader_id=volunteer_id, owner_type=MEDIA_OWNER, owner_id=task.id
            )
        await _tell(
            await _family(task),
            enums.DELIVERED,
            task,
            f"请确认：{task.title}",
            "志愿者已完成服务，请在小程序中确认（无法操作可请网格员代为确认）",
        )
    return await Task.get(id=task.id)


async def confirm(task: Task, *, actor_id: int, note: str | None) -> Task:
    """The resident (or a family member, the grid worker or staff for them) confirms: the order completes and
    the volunteer's hours are credited by the community's rule, once (the ledger key is the task's)."""
    async with atomic():
        if not await _edge(
            task, T.CONFIRMED, actor_id=actor_id, reason=note, confirmed_at=utcnow(), confirmed_by_id=actor_id
        ):
            raise _stale(task)
        await TaskAssignment.filter(task_id=task.id, round=task.round).update(
            status=AssignmentStatus.COMPLETED, ended_at=utcnow()
        )
        await volunteers.free_task_slot(task.volunteer_id, completed=True)
        if task.order_id is not None:
            await store_orders.complete_delivery(task.order_id, actor_id=actor_id)
        community = await OrgUnit.get(id=task.community_id)
        posted = await ledger.earn_service(
            task.volunteer_id,
            community=community,
            task_id=task.id,
            task_kind=LedgerTaskKind.DELIVERY if task.kind == TaskKind.DELIVERY else LedgerTaskKind.HELP,
            distance_m=task.distance_m,
            actor_id=actor_id,
            reason=f"志愿服务：{task.title}"[:200],
        )
        await Task.filter(id=task.id).update(credited_transfer_id=posted.transfer.id)
        minutes = next(
            e.amount
            for e in posted.entries
            if e.owner.id == task.volunteer_id and e.amount > 0 and e.currency.value == "hour"
        )
        await _tell(
            [task.volunteer_id],
            enums.CONFIRMED,
            task,
            f"服务已确认：{task.title}",
            f"感谢您的付出，{minutes} 分钟已记入时间银行",
        )
    return await Task.get(id=task.id)


async def cancel(task: Task, *, actor_id: int, reason: str | None, staff: bool) -> Task:
    """Cancel a task. A delivery task cancels its order (stock, quota and points back exactly)."""
    if task.kind == TaskKind.DELIVERY and task.order_id is not None:
        order = await Order.get(id=task.order_id).prefetch_related("lines")
        async with atomic():
            await store_orders.cancel(order, actor_id=actor_id, reason=reason, staff=staff, from_task=True)
            await cancel_rows(task, actor_id=actor_id, reason=reason)
        return await Task.get(id=task.id)
    if task.status == T.PICKED_UP and not staff:
        raise InvalidTransition("已取货的任务请联系社区取消")
    async with atomic():
        await cancel_rows(task, actor_id=actor_id, reason=reason)
        await audit.record(
            "task:cancel", actor_id=actor_id, object_type="task", object_id=task.id, detail={"reason": reason}
        )
    return await Task.get(id=task.id)


async def cancel_rows(task: Task, *, actor_id: int | None, reason: str | None) -> None:
    """The task side of a cancel: history, the holder's slot, open offers withdrawn."""
    held_by = task.volunteer_id if task.status in (T.ACCEPTED, T.PICKED_UP) else None
    if not await _edge(task, T.CANCELLED, actor_id=actor_id, reason=reason, cancelled_at=utcnow()):
        raise _stale(task)
    await TaskOffer.filter(task_id=task.id, status=OfferStatus.OPEN).update(status=OfferStatus.WITHDRAWN)
    if held_by is not None:
        await volunteers.free_task_slot(held_by)
        await TaskAssignment.filter(task_id=task.id, round=task.round).update(
            status=AssignmentStatus.CANCELLED, ended_at=utcnow()
        )
        await _tell([held_by], enums.CANCELLED, task, f"任务已取消：{task.title}", reason or "")


async def cancel_for_order(order_id: int, *, actor_id: int, reason: str) -> None:
    """The order was cancelled from the store side: cancel its task too (if it has one still open)."""
    task = await Task.get_or_none(order_id=order_id)
    if task is not None and task.status in (T.OFFERED, T.ACCEPTED, T.PICKED_UP):
        await cancel_rows(task, actor_id=actor_id, reason=reason)


@on_user_merged
async def _move_task_rows(from_user_id: int, to_user_id: int) -> None:
    """A placeholder account merged into the real one: its orders and requested tasks follow."""
    await Order.filter(resident_id=from_user_id).update(resident_id=to_user_id)
    await Order.filter(placed_by_id=from_user_id).update(placed_by_id=to_user_id)
    await Task.filter(requester_id=from_user_id).update(requester_id=to_user_id)
    await Task.filter(created_by_id=from_user_id).update(created_by_id=to_user_id)
    await Task.filter(confirmed_by_id=from_user_id).update(confirmed_by_id=to_user_id)
