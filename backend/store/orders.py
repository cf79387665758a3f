"""Orders at the 爱心超市, one transaction each way:

- place: hold each line's stock (conditional UPDATE, items in id order), use the household's monthly quota
  (conditional UPDATE), reserve the points through the ledger (``reserve_points``), write the order, its history
  row and, for delivery, its task. Any refusal (out of stock, over the limit, not enough points) rolls it all back.
- cancel (before hand-over; staff also after, taking the goods back): release stock, quota and points exactly.
- hand over at the counter (pickup: completed, points to the store) or to the volunteer (delivery: on its way);
  complete a delivery when the resident confirms it.

Transitions (``ORDER_EDGES``): confirmed → handed_over → completed, confirmed → completed (pickup),
confirmed/handed_over → cancelled. Anything else is ``InvalidTransition``.
"""

from __future__ import annotations

from backend.config import Settings
from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import InvalidTransition
from backend.core.timeutil import to_local, utcnow
from backend.ledger import service as ledger
from backend.models.org import Household, OrgUnit
from backend.models.store import (
    Fulfilment,
    MovementKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Store,
    StoreItem,
)
from backend.models.user import User
from backend.store import repository
from backend.store.exceptions import ItemNotFound, MonthlyLimitReached, NoHousehold, OrderNotCancellable, OutOfStock
from backend.store.places import place_of
from backend.store.schemas import OrderIn, OrderLineOut, OrderOut
from backend.store.service import _movement, warn_if_low

S = OrderStatus
ORDER_EDGES = {
    (S.CONFIRMED, S.HANDED_OVER), (S.CONFIRMED, S.COMPLETED), (S.HANDED_OVER, S.COMPLETED),
    (S.CONFIRMED, S.CANCELLED), (S.HANDED_OVER, S.CANCELLED),
}


def quota_holder(resident: User) -> str:
    return f"h{resident.household_id}" if resident.household_id else f"u{resident.id}"


def order_out(o: Order, task_id: int | None = None) -> OrderOut:
    return OrderOut(
        id=o.id, store_id=o.store_id, resident_id=o.resident_id, placed_by_id=o.placed_by_id,
        on_behalf=o.placed_by_id != o.resident_id, fulfilment=o.fulfilment, status=o.status,
        status_label=OrderStatus(o.status).label, total_points=o.total_points,
        lines=[OrderLineOut(item_id=ln.item_id, name=ln.name, qty=ln.qty, price_points=ln.price_points)
               for ln in sorted(o.lines, key=lambda ln: ln.item_id)],
        note=o.note, task_id=task_id, created_at=o.created_at, completed_at=o.completed_at,
        cancelled_at=o.cancelled_at,
    )


async def _move(order: Order, to: OrderStatus, *, actor_id: int | None, reason: str | None = None,
                **changes) -> None:  # type: ignore[no-untyped-def]
    """One edge of the table: a conditional UPDATE from the current status, and its history row."""
    frm = OrderStatus(order.status)
    if (frm, to) not in ORDER_EDGES:
        raise InvalidTransition(detail={"from": frm.value, "to": to.value})
    if not await Order.filter(id=order.id, status=frm).update(status=to, updated_at=utcnow(), **changes):
        raise InvalidTransition("订单状态已变化，请刷新", detail={"from": frm.value, "to": to.value})
    on_behalf = order.resident_id if actor_id is not None and actor_id != order.resident_id else None
    await OrderEvent.create(order_id=order.id, from_status=frm, to_status=to, actor_id=actor_id,
                            on_behalf_of_id=on_behalf, reason=reason)
    order.status = to


async def place(settings: Settings, store: Store, resident: User, body: OrderIn, *, actor_id: int) -> Order:
    """Place an order for ``resident`` (by them, or by ``actor_id`` on their behalf): confirmed or refused whole."""
    from backend.tasks import service as tasks  # noqa: PLC0415 - tasks import orders too

    items = {i.id: i for i in await StoreItem.filter(store_id=store.id, is_active=True,
                                                     id__in=[ln.item_id for ln in body.lines])}
    missing = [ln.item_id for ln in body.lines if ln.item_id not in items]
    if missing:
        raise ItemNotFound(detail={"loc": "body.lines", "item_ids": missing})
    household = await Household.get_or_none(id=resident.household_id) if resident.household_id else None
    if body.fulfilment is Fulfilment.DELIVERY and household is None:
        raise NoHousehold()
    community = await OrgUnit.get(id=store.community_id)
    holder, month = quota_holder(resident), to_local(utcnow()).strftime("%Y-%m")
    total = sum(items[ln.item_id].price_points * ln.qty for ln in body.lines)
    place = place_of(household) if household else place_of(store)
    async with atomic():
        # Rows nobody else writes first; the shared hot rows (the community's escrow account in the ledger, then
        # the items in id order) last, so they stay locked only for the last statements before the commit. Every
        # writer takes them in that order (person → escrow → items): no two transactions wait on each other.
        order = await Order.create(store_id=store.id, resident_id=resident.id, household_id=resident.household_id,
                                   placed_by_id=actor_id, fulfilment=body.fulfilment, total_points=total,
                                   quota_holder=holder, month=month, note=body.note, **place)
        await OrderLine.bulk_create([OrderLine(order_id=order.id, item_id=ln.item_id, name=items[ln.item_id].name,
                                               qty=ln.qty, price_points=items[ln.item_id].price_points)
                                     for ln in body.lines])
        on_behalf = resident.id if actor_id != resident.id else None
        await OrderEvent.create(order_id=order.id, from_status=None, to_status=S.CONFIRMED, actor_id=actor_id,
                                on_behalf_of_id=on_behalf)
        await audit.record("order:place", actor_id=actor_id, on_behalf_of_id=on_behalf, object_type="store_order",
                           object_id=order.id, detail={"total_points": total, "fulfilment": body.fulfilment.value})
        if body.fulfilment is Fulfilment.DELIVERY:
            await tasks.open_delivery_task(settings, order, store, resident, household, actor_id=actor_id)
        lines = sorted(body.lines, key=lambda ln: ln.item_id)
        for line in lines:
            item = items[line.item_id]
            if item.monthly_limit is not None and not await repository.use_quota(
                    holder, item.id, month, line.qty, item.monthly_limit):
                raise MonthlyLimitReached(f"「{item.name}」本户本月最多兑换 {item.monthly_limit}{item.unit}",
                                          detail={"item_id": item.id, "monthly_limit": item.monthly_limit})
        if total > 0:
            await ledger.reserve_points(resident.id, total, community=community, order_id=order.id, actor_id=actor_id)
        for line in lines:
            item = items[line.item_id]
            row = await repository.hold(item.id, store.id, line.qty)
            if row is None:
                raise OutOfStock(f"「{item.name}」库存不足", detail={"item_id": item.id, "requested": line.qty})
            await warn_if_low(item, row["stock"] + line.qty, row["stock"], row["low_stock_at"])
    return await Order.get(id=order.id).prefetch_related("lines")


async def _return_lines(order: Order, *, handed_over: bool, actor_id: int | None) -> None:
    for line in sorted(await OrderLine.filter(order_id=order.id), key=lambda ln: ln.item_id):
        if handed_over:  # the goods came back to the shelf: a return movement
            item = await StoreItem.get(id=line.item_id)
            row = await repository.add(line.item_id, line.qty)
            await _movement(item, MovementKind.RETURN, line.qty, row["stock"] + row["held"], actor_id=actor_id,
                            order_id=order.id, reason=f"订单 #{order.id} 取消退回")
        else:
            await repository.unhold(line.item_id, line.qty)
        await repository.free_quota(order.quota_holder, line.item_id, order.month, line.qty)


async def cancel(order: Order, *, actor_id: int, reason: str | None, staff: bool, from_task: bool = False) -> Order:
    """Cancel: stock back on the shelf, quota and points released, the delivery task (if any) cancelled."""
    from backend.tasks import fulfilment as tasks  # noqa: PLC0415

    status = OrderStatus(order.status)
    if status is S.HANDED_OVER and not staff or status not in (S.CONFIRMED, S.HANDED_OVER):
        raise OrderNotCancellable(detail={"status": status.value})
    async with atomic():
        await _move(order, S.CANCELLED, actor_id=actor_id, reason=reason, cancelled_at=utcnow(), cancel_reason=reason)
        if order.total_points > 0:  # the ledger's rows before the items': the lock order of ``place``
            await ledger.release_reserved(order.id, actor_id=actor_id)
        await _return_lines(order, handed_over=status is S.HANDED_OVER, actor_id=actor_id)
        await audit.record("order:cancel", actor_id=actor_id, object_type="store_order", object_id=order.id,
                           detail={"reason": reason})
        if not from_task:
            await tasks.cancel_for_order(order.id, actor_id=actor_id, reason=reason or "订单已取消")
    return await Order.get(id=order.id).prefetch_related("lines")


async def hand_over(order: Order, *, actor_id: int) -> Order:
    """The goods leave the store: to the resident at the counter (completed, points settled to the store) or to
    the delivering volunteer (on its way)."""
    to = S.COMPLETED if order.fulfilment == Fulfilment.PICKUP else S.HANDED_OVER
    async with atomic():
        changes = {"completed_at": utcnow()} if to is S.COMPLETED else {}
        await _move(order, to, actor_id=actor_id, reason="到店领取" if to is S.COMPLETED else "志愿者取货", **changes)
        if to is S.COMPLETED and order.total_points > 0:  # ledger rows before item rows, as in ``place``
            await ledger.redeem_reserved(order.id, store_id=order.store_id, actor_id=actor_id)
        for line in sorted(await OrderLine.filter(order_id=order.id), key=lambda ln: ln.item_id):
            item = await StoreItem.get(id=line.item_id)
            row = await repository.release_held(line.item_id, line.qty)
            await _movement(item, MovementKind.ORDER_OUT, -line.qty, row["stock"] + row["held"], actor_id=actor_id,
                            order_id=order.id, reason=f"订单 #{order.id}")
    return await Order.get(id=order.id).prefetch_related("lines")


async def complete_delivery(order_id: int, *, actor_id: int | None) -> None:
    """The resident confirmed the delivery: the order is completed and its points go to the store."""
    order = await Order.get(id=order_id)
    await _move(order, S.COMPLETED, actor_id=actor_id, reason="送达确认", completed_at=utcnow())
    if order.total_points > 0:
        await ledger.redeem_reserved(order.id, store_id=order.store_id, actor_id=actor_id)
