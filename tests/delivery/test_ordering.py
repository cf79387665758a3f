"""Placing an order, the hot path of the 爱心超市: what it costs the database (a statement budget, counted on
the connection), that the answer built from what was written is what is stored, which stores an order may go
to, and that a refusal at any step leaves nothing behind (order, lines, history, audit, quota, points,
stock)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from tortoise import connections

from backend.models.audit import AuditLog
from backend.models.ledger import Transfer, TransferKind
from backend.models.outbox import OutboxEvent
from backend.models.store import HouseholdQuota, Order, OrderEvent, OrderLine, StoreItem
from backend.models.tasks import Task, TaskEvent
from tests.delivery.conftest import balance

# Statements one order costs, BEGIN / SAVEPOINT / COMMIT and the caller's authentication included. PostgreSQL
# (ADR 27): authentication, the one read, the order's statement (points and stock included) in autocommit; a
# delivery runs it between BEGIN and COMMIT and adds its task and the task's two outbox jobs. SQLite runs the
# same steps as more, smaller statements (the ledger posts statement by statement there).
BUDGET = {"postgres": {"pickup": 3, "delivery": 8}, "sqlite": {"pickup": 16, "delivery": 20}}


@contextmanager
def counted() -> Iterator[list[str]]:
    """Every statement sent on a database connection while inside the block (transaction control included)."""
    seen: list[str] = []
    dialect = connections.get("default").capabilities.dialect
    if dialect == "postgres":
        import asyncpg.connection

        cls, names = (
            asyncpg.connection.Connection,
            ("execute", "fetch", "fetchrow", "fetchval", "executemany"),
        )
    else:
        import aiosqlite

        cls = aiosqlite.Connection
        names = ("execute", "execute_insert", "execute_fetchall", "executemany", "commit", "rollback")
    originals = {name: getattr(cls, name) for name in names}

    def wrap(name: str):  # type: ignore[no-untyped-def]
        async def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(" ".join(str(args[0]).split())[:80] if args else name.upper())
            return await originals[name](self, *args, **kwargs)

        return wrapper

    for name in names:
        setattr(cls, name, wrap(name))
    try:
        yield seen
    finally:
        for name, method in originals.items():
            setattr(cls, name, method)


def order(world, fulfilment="pickup", **lines):  # type: ignore[no-untyped-def]
    return {
        "store_id": world.store.id,
        "fulfilment": fulfilment,
        "lines": [{"item_id": world.items[k].id, "qty": q} for k, q in lines.items()],
    }


async def nothing_written(world) -> None:  # type: ignore[no-untyped-def]
    assert await Order.all().count() == 0
    assert await OrderLine.all().count() == 0 and await OrderEvent.all().count() == 0
    assert await AuditLog.filter(action="order:place").count() == 0
    assert await Task.all().count() == 0 and await TaskEvent.all().count() == 0
    assert await HouseholdQuota.filter(used__gt=0).count() == 0
    assert await Transfer.filter(kind=TransferKind.RESERVE).count() == 0
    assert await balance(world["resident"].id) == 100
    for key, stock in (("rice", 20), ("oil", 50)):
        item = await StoreItem.get(id=world.items[key].id)
        assert (item.stock, item.held) == (stock, 0), key


class TestStatementBudget:
    @pytest.mark.parametrize("fulfilment", ["pickup", "delivery"])
    async def test_an_order_stays_within_its_statement_budget(self, client, world, fulfilment):
        warm = await client.post(
            "/api/v1/store/orders", json=order(world, fulfilment, oil=1), headers=world.headers["resident"]
        )
        assert warm.status_code == 201, warm.text
        dialect = connections.get("default").capabilities.dialect
        with counted() as seen:
            resp = await client.post(
                "/api/v1/store/orders",
                json=order(world, fulfilment, oil=1),
                headers=world.headers["resident"],
            )
        assert resp.status_code == 201, resp.text
        assert len(seen) <= BUDGET[dialect][fulfilment], "\n".join(seen)

    async def test_a_monthly_limit_costs_no_extra_statement_on_postgresql(self, client, world):
        if connections.get("default").capabilities.dialect != "postgres":
            pytest.skip("SQLite takes each quota row in a statement of its own")
        warm = await client.post(
            "/api/v1/store/orders", json=order(world, oil=1), headers=world.headers["resident"]
        )
        assert warm.status_code == 201  # the resident's first order opens their hold account
        with counted() as seen:
            resp = await client.post(
                "/api/v1/store/orders", json=order(world, rice=2, oil=3), headers=world.headers["resident"]
            )
        assert resp.status_code == 201, resp.text
        assert len(seen) <= BUDGET["postgres"]["pickup"], "\n".join(seen)  # lines are arrays of one statement


class TestTheAnswer:
    async def test_the_answer_is_what_was_stored(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders",
            json={**order(world, "delivery", rice=2, oil=1), "note": "放门口"},
            headers=world.headers["resident"],
        )
        assert resp.status_code == 201, resp.text
        stored = await client.get(
            f"/api/v1/store/orders/{resp.json()['id']}", headers=world.headers["resident"]
        )
        assert stored.status_code == 200
        assert resp.json() == stored.json()
        body = resp.json()
        assert [ln["item_id"] for ln in body["lines"]] == sorted(
            [world.items["rice"].id, world.items["oil"].id]
        )
        task = await Task.get(id=body["task_id"])
        assert (task.order_id, task.requester_id, task.household_id) == (
            body["id"],
            world["resident"].id,
            world.tree.household(0, 0, 0).id,
        )
        assert await TaskEvent.filter(task_id=task.id, action="create").count() == 1
        kinds = sorted(await OutboxEvent.all().values_list("kind", flat=True))
        assert "tasks.due" in kinds and "tasks.match" in kinds

    async def test_the_history_and_audit_rows_say_who_and_for_whom(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders",
            json={**order(world, oil=2), "for_user_id": world["resident"].id},
            headers=world.headers["grid_worker"],
        )
        assert resp.status_code == 201, resp.text
        order_id = resp.json()["id"]
        event = await OrderEvent.get(order_id=order_id)
        assert (event.from_status, event.to_status) == (None, "confirmed")
        audit = await AuditLog.get(action="order:place", object_id=str(order_id))
        assert (audit.actor_id, audit.on_behalf_of_id, audit.object_type) == (
            world["grid_worker"].id,
            world["resident"].id,
            "store_order",
        )
        assert audit.detail == {"total_points": 10, "fulfilment": "pickup"}
        assert audit.request_id == resp.headers["x-request-id"]

    async def test_a_retried_request_with_its_key_gets_the_same_order(self, client, world):
        headers = {**world.headers["resident"], "Idempotency-Key": "order-retry-1"}
        first = await client.post("/api/v1/store/orders", json=order(world, oil=1), headers=headers)
        again = await client.post("/api/v1/store/orders", json=order(world, oil=1), headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
        assert await Order.all().count() == 1 and await balance(world["resident"].id) == 95


class TestWhichStore:
    async def test_a_store_of_another_community_is_not_found(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, oil=1), headers=world.headers["outsider"]
        )
        assert resp.status_code == 404 and resp.json()["error"] == "StoreNotFound"

    async def test_a_closed_store_is_not_found(self, client, world):
        from backend.models.store import Store

        await Store.filter(id=world.store.id).update(is_active=False)
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, oil=1), headers=world.headers["resident"]
        )
        assert resp.status_code == 404 and resp.json()["error"] == "StoreNotFound"
        await nothing_written(world)

    async def test_an_item_of_another_store_or_withdrawn_is_not_found(self, client, world):
        await StoreItem.filter(id=world.items["oil"].id).update(is_active=False)
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, rice=1, oil=1), headers=world.headers["resident"]
        )
        assert resp.status_code == 404 and resp.json()["error"] == "ItemNotFound"
        assert resp.json()["detail"]["item_ids"] == [world.items["oil"].id]

    async def test_street_staff_order_for_a_resident_of_any_of_its_communities(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders",
            json={**order(world, oil=1), "for_user_id": world["resident"].id},
            headers=world.headers["street"],
        )
        assert resp.status_code == 201, resp.text
        other = await client.post(
            "/api/v1/store/orders",
            json={**order(world, oil=1), "for_user_id": world["resident"].id},
            headers=world.headers["staff_other"],
        )
        assert other.status_code == 404


class TestRefusalsLeaveNothing:
    async def test_out_of_stock_on_the_last_line_undoes_every_other_write(self, client, world):
        rice, oil = world.items["rice"], world.items["oil"]
        assert rice.id < oil.id  # lines are held in item id order: rice (quota taken, stock held) comes first
        await StoreItem.filter(id=oil.id).update(stock=1)
        resp = await client.post(
            "/api/v1/store/orders",
            json=order(world, "delivery", rice=2, oil=2),
            headers=world.headers["resident"],
        )
        assert resp.status_code == 409 and resp.json()["error"] == "OutOfStock", resp.text
        assert resp.json()["detail"] == {"item_id": oil.id, "requested": 2}
        await StoreItem.filter(id=oil.id).update(stock=50)
        await nothing_written(world)
        assert await OutboxEvent.filter(kind__startswith="tasks.").count() == 0

    async def test_over_the_monthly_limit_in_one_order_is_refused_before_any_write(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, rice=3), headers=world.headers["resident"]
        )
        assert resp.status_code == 409 and resp.json()["error"] == "MonthlyLimitReached"
        assert resp.json()["detail"] == {"item_id": world.items["rice"].id, "monthly_limit": 2}
        await nothing_written(world)

    async def test_the_limit_counts_what_the_household_took_this_month(self, client, world):
        ok = await client.post(
            "/api/v1/store/orders", json=order(world, rice=1), headers=world.headers["resident"]
        )
        assert ok.status_code == 201
        over = await client.post(
            "/api/v1/store/orders", json=order(world, rice=2, oil=1), headers=world.headers["resident"]
        )
        assert over.status_code == 409 and over.json()["error"] == "MonthlyLimitReached"
        assert (await HouseholdQuota.get(item_id=world.items["rice"].id)).used == 1
        assert await Order.all().count() == 1 and await balance(world["resident"].id) == 90
        last = await client.post(
            "/api/v1/store/orders", json=order(world, rice=1), headers=world.headers["resident"]
        )
        assert last.status_code == 201
        assert (await HouseholdQuota.get(item_id=world.items["rice"].id)).used == 2

    async def test_a_delivery_without_a_registered_home_is_refused(self, client, world):
        from backend.models.user import User

        await User.filter(id=world["resident"].id).update(household_id=None)  # read again on every request
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, "delivery", oil=1), headers=world.headers["resident"]
        )
        assert resp.status_code == 400 and resp.json()["error"] == "NoHousehold"
        await nothing_written(world)
