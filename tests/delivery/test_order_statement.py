"""The one-statement order (PostgreSQL, ``store.orders._place_at_once`` with ``store_order_hold``) writes
exactly what the step-by-step path writes (``_place_step_by_step``, which SQLite runs): the same order, lines,
history, audit and quota rows, the same reserve transfer and entries, the same stock, the same low-stock job,
row for row; and it refuses what the step path refuses with the same error, leaving nothing behind."""

from __future__ import annotations

from typing import Any

import pytest

from backend.core import sql
from backend.core.db import atomic
from backend.ledger.exceptions import InsufficientBalance
from backend.models.audit import AuditLog
from backend.models.ledger import Account, Entry, Transfer
from backend.models.outbox import OutboxEvent
from backend.models.store import HouseholdQuota, Order, OrderEvent, OrderLine, StoreItem
from backend.models.tasks import Task
from backend.models.user import User
from backend.store import orders, repository
from backend.store.exceptions import MonthlyLimitReached, OutOfStock
from backend.store.schemas import OrderIn
from tests.delivery.conftest import balance


@pytest.fixture(autouse=True)
def _postgres_only():  # type: ignore[no-untyped-def]
    if sql.is_sqlite():
        pytest.skip("the one-statement order is PostgreSQL's; SQLite places step by step")


class _Undo(Exception):
    """Raised to roll back what a path wrote, once it has been read."""


def _body(world, fulfilment: str = "pickup", **lines: int) -> OrderIn:  # type: ignore[no-untyped-def]
    return OrderIn.model_validate(
        {
            "store_id": world.store.id,
            "fulfilment": fulfilment,
            "lines": [{"item_id": world.items[k].id, "qty": q} for k, q in lines.items()],
        }
    )


async def _place(path, settings, world, body: OrderIn, who: str = "resident", actor: str | None = None):  # type: ignore[no-untyped-def]
    resident = await User.get(id=world[who].id)
    ctx = await repository.order_context(
        world.store.id, [ln.item_id for ln in body.lines], resident.household_id, home=True
    )
    lines = orders._checked_lines(ctx, body)
    actor_id = world[actor].id if actor else resident.id
    new = orders._new_order(ctx.store, ctx.household, resident, body, lines, actor_id=actor_id)
    return await path(settings, ctx, new, lines, actor_id=actor_id)


async def _written(order_id: int) -> dict[str, Any]:
    """Every row an order wrote, the order's own id replaced by "N", times relative to its creation."""
    order = await Order.get(id=order_id)
    born, n = order.created_at, str(order_id)
    fields = {
        f: getattr(order, f) for f in Order._meta.db_fields if f not in ("id", "created_at", "updated_at")
    }
    fields["updated"] = order.updated_at - born
    lines = [
        (ln.item_id, ln.name, ln.qty, ln.price_points) for ln in await OrderLine.filter(order_id=order_id)
    ]
    history = [
        (e.from_status, e.to_status, e.actor_id, e.on_behalf_of_id, e.reason, e.created_at - born)
        for e in await OrderEvent.filter(order_id=order_id).order_by("id")
    ]
    audit = [
        (a.actor_id, a.on_behalf_of_id, a.action, a.object_type, a.detail, a.created_at - born)
        for a in await AuditLog.filter(object_type="store_order", object_id=n)
    ]
    quota = sorted(
        (q.holder, q.item_id, q.month, q.used) for q in await HouseholdQuota.filter(holder=order.quota_holder)
    )
    owners = {
        a.id: (a.owner_kind, a.owner_id) for a in await Account.all()
    }  # ids differ: opened by each path
    transfers = []
    for t in await Transfer.filter(link_type="order", link_id=n):
        entries = [
            (owners[e.account_id], e.currency, e.amount, e.balance_after, e.earning)
            for e in await Entry.filter(transfer_id=t.id).order_by("id")
        ]
        transfers.append(
            (
                t.kind,
                t.reason.replace(n, "N"),
                t.actor_id,
                t.idempotency_key.replace(n, "N"),
                t.reverses_id,
                t.street_id,
                t.community_id,
                t.grid_id,
                t.compound_id,
                entries,
            )
        )
    accounts = sorted((a.owner_kind, a.owner_id, a.currency, a.balance) for a in await Account.all())
    items = sorted((i.id, i.stock, i.held) for i in await StoreItem.all())
    jobs = sorted(
        (o.kind, o.payload, o.status, o.run_at - born, o.attempts, o.max_attempts)
        for o in await OutboxEvent.filter(kind=repository.LOW_STOCK_EVENT)
    )
    tasks = await Task.filter(order_id=order_id).count()
    return {
        "order": fields,
        "lines": sorted(lines),
        "history": history,
        "audit": audit,
        "quota": quota,
        "transfers": transfers,
        "accounts": accounts,
        "items": items,
        "low_stock_jobs": jobs,
        "tasks": tasks,
    }


async def _both(settings, world, body: OrderIn, **who: str) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """What each path writes for the same order from the same state (each rolled back once read)."""
    seen = []
    for path in (orders._place_step_by_step, orders._place_at_once):
        try:
            async with atomic():
                order, _ = await _place(path, settings, world, body, **who)
                seen.append(await _written(order.id))
                raise _Undo
        except _Undo:
            pass
    return seen[0], seen[1]


async def _refusal(path, settings, world, body: OrderIn) -> tuple[type, str, dict]:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        await _place(path, settings, world, body)
    return type(caught.value), caught.value.message, caught.value.detail


class TestSameRowsAsTheStepPath:
    async def test_a_pickup_order_of_two_lines_one_of_them_limited(self, settings, world):
        step, once = await _both(settings, world, _body(world, rice=2, oil=3))
        assert step == once
        assert once["transfers"] and once["quota"] and once["lines"]  # the comparison is not of empty sets

    async def test_an_order_taking_an_item_to_its_alert_level_queues_one_low_stock_job(self, settings, world):
        await StoreItem.filter(id=world.items["rice"].id).update(stock=4)  # alert at 3
        step, once = await _both(settings, world, _body(world, rice=1))
        assert step == once
        assert [(k, p["after"]) for k, p, *_ in once["low_stock_jobs"]] == [(repository.LOW_STOCK_EVENT, 3)]

    async def test_a_delivery_placed_by_staff_for_a_resident(self, settings, world):
        step, once = await _both(settings, world, _body(world, "delivery", oil=1), actor="staff")
        assert step == once
        assert once["tasks"] == 1 and once["order"]["placed_by_id"] == world["staff"].id

    async def test_an_order_that_costs_nothing_posts_no_transfer(self, settings, world):
        await StoreItem.filter(id=world.items["oil"].id).update(price_points=0)
        step, once = await _both(settings, world, _body(world, oil=1))
        assert step == once and once["transfers"] == []


class TestTheReturnedOrder:
    @pytest.mark.parametrize("fulfilment", ["pickup", "delivery"])
    async def test_it_is_the_stored_row_field_by_field(self, settings, world, fulfilment):
        returned, _ = await _place(
            orders._place_at_once, settings, world, _body(world, fulfilment, oil=1), actor="staff"
        )
        stored = await Order.get(id=returned.id)
        for name in Order._meta.fields_map:
            if name in Order._meta.fetch_fields:
                continue
            assert getattr(returned, name) == getattr(stored, name), name
        assert returned.placed_by_id == world["staff"].id and returned.status == "confirmed"


class TestSameRefusals:
    @pytest.mark.parametrize(
        ("case", "expected"),
        [
            ("out_of_stock", OutOfStock),
            ("over_limit", MonthlyLimitReached),
            ("too_few_points", InsufficientBalance),
        ],
    )
    async def test_each_refusal_is_the_step_paths_and_leaves_nothing(self, settings, world, case, expected):
        if case == "out_of_stock":
            await StoreItem.filter(id=world.items["oil"].id).update(stock=2)
            body = _body(world, rice=1, oil=3)  # the second line cannot be covered
        elif case == "over_limit":
            async with atomic():
                await HouseholdQuota.create(
                    holder=f"h{world['resident'].household_id}",
                    item_id=world.items["rice"].id,
                    month=orders.to_local(orders.utcnow()).strftime("%Y-%m"),
                    used=2,
                )
            body = _body(world, rice=1, oil=1)
        else:
            body = _body(world, oil=21)  # 105 points, the resident has 100
        before = await _written_nothing()
        refusals = []
        for path in (orders._place_step_by_step, orders._place_at_once):
            refusals.append(await _refusal(path, settings, world, body))
            assert await _written_nothing() == before
        assert refusals[0] == refusals[1]
        assert refusals[1][0] is expected
        assert await balance(world["resident"].id) == 100


async def _written_nothing() -> tuple:
    return (
        await Order.all().count(),
        await OrderLine.all().count(),
        await OrderEvent.all().count(),
        await AuditLog.filter(action="order:place").count(),
        await Transfer.all().count(),
        sorted((q.item_id, q.used) for q in await HouseholdQuota.all()),
        sorted((i.id, i.stock, i.held) for i in await StoreItem.all()),
        await OutboxEvent.filter(kind=repository.LOW_STOCK_EVENT).count(),
    )
