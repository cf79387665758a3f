"""Orders at the 爱心超市, one transaction each way:

- place: write the order, its lines, history and audit rows and take the household's monthly quota (an upsert
  conditional on the limit), reserve the points into the person's hold account, hold each line's stock
  (conditional UPDATE, items in id order), for delivery open its task. On PostgreSQL all but the task is one
  statement (ADR 27); SQLite takes the steps one by one. Any refusal (out of stock, over the limit, not
  enough points) rolls it all back. The answer is built from what was written.
- cancel (before hand-over; staff also after, taking the goods back): release stock, quota and points exactly.
- hand over at the counter (pickup: completed, points to the store) or to the volunteer (delivery: on its
  way);
  complete a delivery when the resident confirms it.

Transitions (``ORDER_EDGES``): confirmed → handed_over → completed, confirmed → completed (pickup),
confirmed/handed_over → cancelled. Anything else is ``InvalidTransition``.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from backend.config import Settings
from backend.core import audit, sql
from backend.core.db import atomic, on_commit
from backend.core.errors import Conflict, InvalidTransition
from backend.core.timeutil import to_local, utcnow
from backend.ledger import posting as ledger_posting
from backend.ledger import service as ledger
from backend.models.org import Household
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
from backend.outbox import service as outbox
from backend.outbox.service import wake as wake_outbox
from backend.store import repository
from backend.store.exceptions import (
    ItemNotFound,
    MonthlyLimitReached,
    NoHousehold,
    OrderNotCancellable,
    OutOfStock,
)
from backend.store.places import place_of
from backend.store.repository import LOW_STOCK_EVENT, OrderContext
from backend.store.schemas import OrderIn, OrderLineOut, OrderOut
from backend.store.service import _movement

S = OrderStatus
ORDER_EDGES = {
    (S.CONFIRMED, S.HANDED_OVER),
    (S.CONFIRMED, S.COMPLETED),
    (S.HANDED_OVER, S.COMPLETED),
    (S.CONFIRMED, S.CANCELLED),
    (S.HANDED_OVER, S.CANCELLED),
}


def quota_holder(resident: User) -> str:
    return f"h{resident.household_id}" if resident.household_id else f"u{resident.id}"


def order_out(o: Order, task_id: int | None = None, lines: list[OrderLine] | None = None) -> OrderOut:
    return OrderOut(
        id=o.id,
        store_id=o.store_id,
        resident_id=o.resident_id,
        placed_by_id=o.placed_by_id,
        on_behalf=o.placed_by_id != o.resident_id,
        fulfilment=o.fulfilment,
        status=o.status,
        status_label=OrderStatus(o.status).label,
        total_points=o.total_points,
        lines=[
            OrderLineOut(item_id=ln.item_id, name=ln.name, qty=ln.qty, price_points=ln.price_points)
            for ln in sorted(o.lines if lines is None else lines, key=lambda ln: ln.item_id)
        ],
        note=o.note,
        task_id=task_id,
        created_at=o.created_at,
        completed_at=o.completed_at,
        cancelled_at=o.cancelled_at,
    )


async def _move(
    order: Order, to: OrderStatus, *, actor_id: int | None, reason: str | None = None, **changes
) -> None:  # type: ignore[no-untyped-def]
    """One edge of the table: a conditional UPDATE from the current status, and its history row."""
    frm = OrderStatus(order.status)
    if (frm, to) not in ORDER_EDGES:
        raise InvalidTransition(detail={"from": frm.value, "to": to.value})
    if not await Order.filter(id=order.id, status=frm).update(status=to, updated_at=utcnow(), **changes):
        raise InvalidTransition("订单状态已变化，请刷新", detail={"from": frm.value, "to": to.value})
    on_behalf = order.resident_id if actor_id is not None and actor_id != order.resident_id else None
    await OrderEvent.create(
        order_id=order.id,
        from_status=frm,
        to_status=to,
        actor_id=actor_id,
        on_behalf_of_id=on_behalf,
        reason=reason,
    )
    order.status = to


@dataclass
class Placed:
    """A new order as stored, its lines, and its delivery task (if any): all the answer needs."""

    order: Order
    lines: list[OrderLine]
    task_id: int | None


def _checked_lines(ctx: OrderContext, body: OrderIn) -> list[tuple[StoreItem, int]]:
    """The lines with their items, in item id order (the order every writer locks items in)."""
    missing = [ln.item_id for ln in body.lines if ln.item_id not in ctx.items]
    if missing:
        raise ItemNotFound(detail={"loc": "body.lines", "item_ids": missing})
    return sorted(((ctx.items[ln.item_id], ln.qty) for ln in body.lines), key=lambda pair: pair[0].id)


def _over_limit(item: StoreItem) -> MonthlyLimitReached:
    return MonthlyLimitReached(
        f"「{item.name}」本户本月最多兑换 {item.monthly_limit}{item.unit}",
        detail={"item_id": item.id, "monthly_limit": item.monthly_limit},
    )


def _new_order(
    store: Store,
    household: Household | None,
    resident: User,
    body: OrderIn,
    lines: list[tuple[StoreItem, int]],
    *,
    actor_id: int,
) -> repository.NewOrder:
    now = utcnow()
    return repository.NewOrder(
        store_id=store.id,
        resident_id=resident.id,
        household_id=resident.household_id,
        placed_by_id=actor_id,
        on_behalf_of_id=resident.id if actor_id != resident.id else None,
        fulfilment=body.fulfilment.value,
        total_points=sum(item.price_points * qty for item, qty in lines),
        quota_holder=quota_holder(resident),
        month=to_local(now).strftime("%Y-%m"),
        note=body.note,
        place=place_of(household or store),
        created_at=now,
        lines=[(item.id, item.name, qty, item.price_points) for item, qty in lines],
        limited=[(item.id, qty) for item, qty in lines if item.monthly_limit is not None],
    )


async def place(
    settings: Settings, ctx: OrderContext, resident: User, body: OrderIn, *, actor_id: int
) -> Placed:
    """Place an order for ``resident`` (by them, or by ``actor_id`` on their behalf) at ``ctx.store`` (the
    caller checked it is in scope): confirmed or refused whole.

    Rows nobody else writes first and the shared hot rows last (ADR 17): the order, its lines, history and
    audit rows and the household's monthly quota; the points reserved through the ledger (the person's
    account, then their hold account); the stock held, items in id order. Cancelling takes them in the same
    order, so no two transactions wait on each other in a cycle, and the hot rows (the items) stay locked only
    until the commit. On PostgreSQL that is one statement (``_place_at_once``, ADR 27); SQLite takes the steps
    one by one in a transaction (``_place_step_by_step``, which opens a delivery's task before the points)."""
    store, household = ctx.store, ctx.household
    assert store is not None and ctx.community is not None
    lines = _checked_lines(ctx, body)
    if body.fulfilment is Fulfilment.DELIVERY and household is None:
        raise NoHousehold()
    for item, qty in lines:  # more than a whole month's limit: no need to ask the database
        if item.monthly_limit is not None and qty > item.monthly_limit:
            raise _over_limit(item)
    new = _new_order(store, household, resident, body, lines, actor_id=actor_id)
    if sql.is_sqlite():
        order, task_id = await _place_step_by_step(settings, ctx, new, lines, actor_id=actor_id)
    else:
        order, task_id = await _place_at_once(settings, ctx, new, lines, actor_id=actor_id)
    out_lines = [
        OrderLine(order_id=order.id, item_id=i, name=n, qty=q, price_points=p) for i, n, q, p in new.lines
    ]
    return Placed(order, out_lines, task_id)


async def _place_step_by_step(
    settings: Settings, ctx: OrderContext, new: repository.NewOrder, lines: list[tuple[StoreItem, int]],
    *, actor_id: int,
) -> tuple[Order, int | None]:
    """SQLite (and the reference the PostgreSQL statement is tested against): one transaction, rows in the
    order ``place`` describes, a refusal raised as it is found."""
    from backend.tasks import service as tasks  # noqa: PLC0415 - tasks import orders too

    store, household, community = ctx.store, ctx.household, ctx.community
    assert store is not None and community is not None
    task_id = None
    async with atomic():
        order, taken = await repository.insert_order(new)
        over = next(
            (item for item, _ in lines if item.monthly_limit is not None and item.id not in taken), None
        )
        if over is not None:
            raise _over_limit(over)
        if new.fulfilment == Fulfilment.DELIVERY:
            assert household is not None
            task_id = await tasks.open_delivery_task(
                settings, order, store, household, ctx.home, actor_id=actor_id
            )
        if new.total_points > 0:
            await ledger.reserve_points(
                new.resident_id, new.total_points, community=community, order_id=order.id, actor_id=actor_id
            )
        for item, qty in lines:
            row = await repository.hold(item.id, store.id, qty)
            if row is None:
                raise _out_of_stock(item, qty)
            if row["stock"] <= row["low_stock_at"] < row["stock"] + qty:
                await outbox.enqueue(LOW_STOCK_EVENT, {
                    "item_id": item.id, "before": row["stock"] + qty, "after": row["stock"],
                    "low_stock_at": row["low_stock_at"],
                }, run_at=new.created_at)
    return order, task_id


async def _place_at_once(
    settings: Settings, ctx: OrderContext, new: repository.NewOrder, lines: list[tuple[StoreItem, int]],
    *, actor_id: int,
) -> tuple[Order, int | None]:
    """PostgreSQL: the order in one statement (``repository.place_at_once``, ADR 27). A pickup order outside
    any transaction runs in autocommit: one round trip, committed before the answer. A delivery order opens
    its task in the same transaction, after the statement (the task needs the order's id); an order placed
    inside a caller's transaction runs in a savepoint. A refusal rolls the statement back whole; a missing
    ledger account is opened and the statement sent again."""
    from backend.tasks import service as tasks  # noqa: PLC0415 - tasks import orders too

    store, household, community = ctx.store, ctx.household, ctx.community
    assert store is not None and community is not None
    legs = ledger_posting.in_lock_order(
        ledger.reserve_legs(new.resident_id, new.total_points)
    ) if new.total_points > 0 else []
    place = ledger.Place.of(community)
    reserve = [
        ledger.reserve_reason("%s"), ledger.reserve_key("%s"),
        place.street_id, place.community_id, place.grid_id, place.compound_id,
        *(ledger_posting.leg_arrays(legs) if legs else [[], [], [], [], []]),
    ]
    delivery = new.fulfilment == Fulfilment.DELIVERY
    for _ in range(len(legs) + 3):  # a retry follows a ledger account opened meanwhile
        try:
            async with atomic() if delivery or sql.in_transaction() else sql.write_slot():
                order, low = await repository.place_at_once(new, reserve)
                task_id = None
                if delivery:
                    assert household is not None
                    task_id = await tasks.open_delivery_task(
                        settings, order, store, household, ctx.home, actor_id=actor_id
                    )
                if low:
                    on_commit(wake_outbox)  # after the commit (at once in autocommit)
        except asyncpg.PostgresError as exc:
            await _judge(exc, lines, legs)
            continue
        return order, task_id
    raise Conflict("下单繁忙，请重试")


async def _judge(exc: Exception, lines: list[tuple[StoreItem, int]], legs: list[ledger.Leg]) -> None:
    """The order statement's refusal as the step-by-step path would have raised it."""
    state = getattr(exc, "sqlstate", None)
    if state in ("ST001", "ST002"):
        item_id = int(exc.detail)  # type: ignore[attr-defined]
        item, qty = next((item, qty) for item, qty in lines if item.id == item_id)
        raise (_out_of_stock(item, qty) if state == "ST001" else _over_limit(item)) from None
    await ledger_posting.judge_refusal(exc, legs)  # LG002 raises; LG001 opens the account; others re-raise


def _out_of_stock(item: StoreItem, qty: int) -> OutOfStock:
    return OutOfStock(f"「{item.name}」库存不足", detail={"item_id": item.id, "requested": qty})


async def _return_lines(
    order: Order, lines: list[OrderLine], *, handed_over: bool, actor_id: int | None
) -> None:
    for line in lines:
        if handed_over:  # the goods came back to the shelf: a return movement
            item = await StoreItem.get(id=line.item_id)
            row = await repository.add(line.item_id, line.qty)
            await _movement(
                item,
                MovementKind.RETURN,
                line.qty,
                row["stock"] + row["held"],
                actor_id=actor_id,
                order_id=order.id,
                reason=f"订单 #{order.id} 取消退回",
            )
        else:
            await repository.unhold(line.item_id, line.qty)


async def cancel(
    order: Order, *, actor_id: int, reason: str | None, staff: bool, from_task: bool = False
) -> Order:
    """Cancel: stock back on the shelf, quota and points released, the delivery task (if any) cancelled.
    Rows are taken in the order ``place`` takes them: the order, the quota, the ledger, the items."""
    from backend.tasks import fulfilment as tasks  # noqa: PLC0415

    status = OrderStatus(order.status)
    if status is S.HANDED_OVER and not staff or status not in (S.CONFIRMED, S.HANDED_OVER):
        raise OrderNotCancellable(detail={"status": status.value})
    async with atomic():
        await _move(
            order, S.CANCELLED, actor_id=actor_id, reason=reason, cancelled_at=utcnow(), cancel_reason=reason
        )
        lines = sorted(await OrderLine.filter(order_id=order.id), key=lambda ln: ln.item_id)
        for line in lines:
            await repository.free_quota(order.quota_holder, line.item_id, order.month, line.qty)
        if order.total_points > 0:
            await ledger.release_reserved(order.id, resident_id=order.resident_id, actor_id=actor_id)
        await _return_lines(order, lines, handed_over=status is S.HANDED_OVER, actor_id=actor_id)
        await audit.record(
            "order:cancel",
            actor_id=actor_id,
            object_type="store_order",
            object_id=order.id,
            detail={"reason": reason},
        )
        if not from_task:
            await tasks.cancel_for_order(order.id, actor_id=actor_id, reason=reason or "订单已取消")
    return await Order.get(id=order.id).prefetch_related("lines")


async def hand_over(order: Order, *, actor_id: int) -> Order:
    """The goods leave the store: to the resident at the counter (completed, points settled to the store) or
    to the delivering volunteer (on its way)."""
    to = S.COMPLETED if order.fulfilment == Fulfilment.PICKUP else S.HANDED_OVER
    async with atomic():
        changes = {"completed_at": utcnow()} if to is S.COMPLETED else {}
        await _move(
            order, to, actor_id=actor_id, reason="到店领取" if to is S.COMPLETED else "志愿者取货", **changes
        )
        if to is S.COMPLETED and order.total_points > 0:  # ledger rows before item rows, as in ``place``
            await ledger.redeem_reserved(
                order.id, store_id=order.store_id, resident_id=order.resident_id, actor_id=actor_id
            )
        for line in sorted(await OrderLine.filter(order_id=order.id), key=lambda ln: ln.item_id):
            item = await StoreItem.get(id=line.item_id)
            row = await repository.release_held(line.item_id, line.qty)
            await _movement(
                item,
                MovementKind.ORDER_OUT,
                -line.qty,
                row["stock"] + row["held"],
                actor_id=actor_id,
                order_id=order.id,
                reason=f"订单 #{order.id}",
            )
    return await Order.get(id=order.id).prefetch_related("lines")


async def complete_delivery(order_id: int, *, actor_id: int | None) -> None:
    """The resident confirmed the delivery: the order is completed and its points go to the store."""
    order = await Order.get(id=order_id)
    await _move(order, S.COMPLETED, actor_id=actor_id, reason="送达确认", completed_at=utcnow())
    if order.total_points > 0:
        await ledger.redeem_reserved(
            order.id, store_id=order.store_id, resident_id=order.resident_id, actor_id=actor_id
        )
