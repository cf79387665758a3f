"""The 爱心超市: stock never below zero (conditional UPDATE and CHECK), every movement audited, stock-takes,
low-stock alerts, and orders that reserve and release stock, quota and points exactly."""

from __future__ import annotations

import re

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError

from backend.models.audit import AuditLog
from backend.models.ledger import Transfer, TransferKind
from backend.models.notifications import InboxItem, NotificationEvent
from backend.models.store import HouseholdQuota, Order, OrderEvent, StockMovement, StoreItem
from tests.delivery.conftest import balance, give_points, run_outbox


async def raw(sql: str, values: list | None = None):  # type: ignore[no-untyped-def]
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        sql = re.sub(r"\$(\d+)", r"?\1", sql)
    return await conn.execute_query(sql, values or [])


class TestDatabaseGuards:
    async def test_a_raw_update_below_zero_is_refused_by_the_database(self, world):
        item = world.items["rice"]
        with pytest.raises((IntegrityError, OperationalError)):
            await raw("UPDATE store_item SET stock = -1 WHERE id = $1", [item.id])
        with pytest.raises((IntegrityError, OperationalError)):
            await raw("UPDATE store_item SET held = held - 1 WHERE id = $1", [item.id])
        assert (await StoreItem.get(id=item.id)).stock == 20

    async def test_the_race_guards_survive_the_migration_on_both_databases(self, world):
        conn = connections.get("default")
        sqlite = conn.capabilities.dialect == "sqlite"
        for table, cols in (
            ("task_assignment", "task_id, round"),
            ("task_offer", "task_id, round, volunteer_id"),
            ("store_household_quota", "holder, item_id, month"),
        ):
            if sqlite:
                rows = await conn.execute_query_dict(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                    " AND sql LIKE 'CREATE UNIQUE%'",
                    [table],
                )
                assert any(cols.replace(" ", "") in re.sub(r'[\s"`]', "", r["sql"]) for r in rows), table
            else:
                rows = await conn.execute_query_dict(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE 'CREATE UNIQUE%'",
                    [table],
                )
                assert any(cols.replace(" ", "") in re.sub(r'[\s"]', "", r["indexdef"]) for r in rows), table

    async def test_a_donation_without_its_donor_is_refused_by_the_database(self, world):
        item = world.items["rice"]
        with pytest.raises((IntegrityError, OperationalError)):
            await StockMovement.create(
                item_id=item.id, store_id=item.store_id, kind="donation", qty=5, on_hand_after=25
            )


class TestMovements:
    async def test_a_donation_adds_stock_with_donor_and_receipt_and_is_audited(self, client, world):
        item = world.items["rice"]
        resp = await client.post(
            f"/api/v1/store/items/{item.id}/movements",
            headers=world.headers["staff"],
            json={
                "kind": "donation",
                "qty": 30,
                "donor_kind": "unit",
                "donor_name": "兰州石化",
                "donated_on": "2026-11-20",
                "receipt_no": "JZ-001",
            },
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["on_hand_after"] == 50 and resp.json()["kind_label"] == "捐赠入库"
        assert (await StoreItem.get(id=item.id)).stock == 50
        assert await AuditLog.filter(action="stock:donation", object_id=str(item.id)).count() == 1

    async def test_a_donation_needs_a_donor_and_an_adjustment_a_reason(self, client, world):
        item = world.items["rice"]
        for body in (
            {"kind": "donation", "qty": 3},
            {"kind": "adjustment", "qty": -3},
            {"kind": "purchase", "qty": -3},
            {"kind": "order_out", "qty": 1},
        ):
            resp = await client.post(
                f"/api/v1/store/items/{item.id}/movements", headers=world.headers["staff"], json=body
            )
            assert resp.status_code == 422 and resp.json()["error"] == "ValidationFailed", body
        assert await StockMovement.all().count() == 0

    async def test_an_adjustment_below_zero_is_409_and_changes_nothing(self, client, world):
        item = world.items["rice"]
        resp = await client.post(
            f"/api/v1/store/items/{item.id}/movements",
            headers=world.headers["staff"],
            json={"kind": "adjustment", "qty": -21, "reason": "过期报损"},
        )
        assert resp.status_code == 409 and resp.json()["error"] == "StockWouldGoNegative"
        assert (await StoreItem.get(id=item.id)).stock == 20 and await StockMovement.all().count() == 0

    async def test_a_transfer_moves_stock_between_stores_in_one_step(self, client, world):
        from backend.store import service
        from backend.store.schemas import ItemIn, StoreIn

        other = await service.create_store(
            world.community,
            StoreIn(community_id=world.community.id, name="二号超市", lat=36.07, lng=103.74),
            actor_id=world["staff"].id,
        )
        target = await service.create_item(
            other,
            ItemIn(name="大米", category="粮油", unit="袋", price_points=10),
            actor_id=world["staff"].id,
        )
        rice = world.items["rice"]
        resp = await client.post(
            f"/api/v1/store/items/{rice.id}/transfers",
            headers=world.headers["staff"],
            json={"to_item_id": target.id, "qty": 8},
        )
        assert resp.status_code == 201, resp.text
        assert [m["kind"] for m in resp.json()] == ["transfer_out", "transfer_in"]
        assert ((await StoreItem.get(id=rice.id)).stock, (await StoreItem.get(id=target.id)).stock) == (12, 8)
        too_many = await client.post(
            f"/api/v1/store/items/{rice.id}/transfers",
            headers=world.headers["staff"],
            json={"to_item_id": target.id, "qty": 13},
        )
        assert too_many.status_code == 409
        assert ((await StoreItem.get(id=rice.id)).stock, (await StoreItem.get(id=target.id)).stock) == (12, 8)

    async def test_a_stocktake_posts_the_differences_as_adjustments(self, client, world):
        rice, oil = world.items["rice"], world.items["oil"]
        resp = await client.post(
            f"/api/v1/store/stores/{world.store.id}/stocktakes",
            headers=world.headers["staff"],
            json={"lines": [{"item_id": rice.id, "counted": 18}, {"item_id": oil.id, "counted": 50}]},
        )
        assert resp.status_code == 201, resp.text
        lines = {ln["item_id"]: ln for ln in resp.json()["lines"]}
        assert (lines[rice.id]["recorded"], lines[rice.id]["delta"], lines[oil.id]["delta"]) == (20, -2, 0)
        assert (await StoreItem.get(id=rice.id)).stock == 18
        movement = await StockMovement.get(item_id=rice.id)
        assert (movement.kind, movement.qty, movement.stocktake_id) == ("adjustment", -2, resp.json()["id"])

    async def test_falling_to_the_alert_level_warns_staff_once_and_lists_the_item(self, client, world):
        rice = world.items["rice"]
        for _ in range(2):
            await client.post(
                f"/api/v1/store/items/{rice.id}/movements",
                headers=world.headers["staff"],
                json={"kind": "adjustment", "qty": -9, "reason": "破损"},
            )
        low = await client.get("/api/v1/store/low-stock", headers=world.headers["staff"])
        assert [i["id"] for i in low.json()] == [rice.id] and low.json()[0]["is_low"]
        assert await InboxItem.filter(user_id=world["staff"].id, kind="store.low_stock").count() == 1

    async def test_orders_taking_an_item_to_its_alert_level_warn_staff_once_a_day(
        self, client, world, settings, bus
    ):
        rice = world.items["rice"]  # alert at 3
        one_bag = {
            "store_id": world.store.id, "fulfilment": "pickup", "lines": [{"item_id": rice.id, "qty": 1}]
        }
        await StoreItem.filter(id=rice.id).update(stock=5)
        for who in ("resident", "neighbour"):  # 5 -> 4, then 4 -> 3: the second order reaches the alert level
            resp = await client.post("/api/v1/store/orders", headers=world.headers[who], json=one_bag)
            assert resp.status_code == 201, resp.text
        await run_outbox(settings, bus)
        inbox = await InboxItem.filter(user_id=world["staff"].id, kind="store.low_stock")
        assert len(inbox) == 1
        assert "仅剩 3" in (await NotificationEvent.get(id=inbox[0].event_id)).body
        await StoreItem.filter(id=rice.id).update(stock=4)  # restocked, down to the level again the same day
        resp = await client.post("/api/v1/store/orders", headers=world.headers["resident"], json=one_bag)
        assert resp.status_code == 201, resp.text
        await run_outbox(settings, bus)
        assert await InboxItem.filter(user_id=world["staff"].id, kind="store.low_stock").count() == 1


def order(world, fulfilment="pickup", **lines):  # type: ignore[no-untyped-def]
    return {
        "store_id": world.store.id,
        "fulfilment": fulfilment,
        "lines": [{"item_id": world.items[k].id, "qty": q} for k, q in lines.items()],
    }


class TestOrders:
    async def test_an_order_holds_stock_and_reserves_points_and_handover_settles_them(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, rice=2, oil=1), headers=world.headers["resident"]
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert (body["total_points"], body["status"], body["on_behalf"]) == (25, "confirmed", False)
        rice = await StoreItem.get(id=world.items["rice"].id)
        assert (rice.stock, rice.held) == (18, 2)
        assert await balance(world["resident"].id) == 75
        done = await client.post(
            f"/api/v1/store/orders/{body['id']}/handover", headers=world.headers["staff"]
        )
        assert done.status_code == 200 and done.json()["status"] == "completed"
        rice = await StoreItem.get(id=world.items["rice"].id)
        assert (rice.stock, rice.held) == (18, 0)
        assert await StockMovement.filter(kind="order_out").count() == 2
        assert await Transfer.filter(kind=TransferKind.REDEEM_GOODS).count() == 1
        events = (
            await OrderEvent.filter(order_id=body["id"])
            .order_by("id")
            .values_list("from_status", "to_status")
        )
        assert events == [(None, "confirmed"), ("confirmed", "completed")]

    async def test_cancelling_before_pickup_releases_stock_quota_and_points_exactly(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders", json=order(world, rice=2), headers=world.headers["resident"]
        )
        order_id = resp.json()["id"]
        cancel = await client.post(
            f"/api/v1/store/orders/{order_id}/cancel",
            json={"reason": "不需要了"},
            headers=world.headers["resident"],
        )
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
        rice = await StoreItem.get(id=world.items["rice"].id)
        assert (rice.stock, rice.held) == (20, 0)
        assert await balance(world["resident"].id) == 100
        assert (await HouseholdQuota.get(item_id=rice.id)).used == 0
        again = await client.post(
            f"/api/v1/store/orders/{order_id}/cancel", headers=world.headers["resident"]
        )
        assert again.status_code == 409
        assert await balance(world["resident"].id) == 100

    async def test_the_household_monthly_limit_counts_the_whole_family(self, client, world):
        ok = await client.post(
            "/api/v1/store/orders", json=order(world, rice=1), headers=world.headers["resident"]
        )
        assert ok.status_code == 201
        await give_points(world["family"], 50, community=world.community, staff=world["staff"])
        second = await client.post(
            "/api/v1/store/orders", json=order(world, rice=2), headers=world.headers["family"]
        )
        assert second.status_code == 409 and second.json()["error"] == "MonthlyLimitReached"
        assert await Order.all().count() == 1 and (await StoreItem.get(id=world.items["rice"].id)).stock == 19
        assert await balance(world["family"].id) == 50

    async def test_not_enough_points_refuses_the_whole_order(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders",
            json=order(world, oil=20, rice=1),  # 110 points > 100
            headers=world.headers["resident"],
        )
        assert resp.status_code == 409 and resp.json()["error"] == "InsufficientBalance"
        assert (
            await Order.all().count() == 0 and await Transfer.filter(kind=TransferKind.RESERVE).count() == 0
        )
        assert (await StoreItem.get(id=world.items["oil"].id)).stock == 50
        assert await HouseholdQuota.filter(used__gt=0).count() == 0

    async def test_staff_order_on_behalf_of_a_resident_records_both(self, client, world):
        resp = await client.post(
            "/api/v1/store/orders",
            json={**order(world, oil=2), "for_user_id": world["resident"].id},
            headers=world.headers["grid_worker"],
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["on_behalf"] and resp.json()["resident_id"] == world["resident"].id
        event = await OrderEvent.get(order_id=resp.json()["id"])
        assert (event.actor_id, event.on_behalf_of_id) == (world["grid_worker"].id, world["resident"].id)
        outside = await client.post(
            "/api/v1/store/orders",
            json={**order(world, oil=1), "for_user_id": world["neighbour"].id},
            headers=world.headers["grid_worker_other"],
        )
        assert outside.status_code == 404
