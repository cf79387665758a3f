"""爱心超市: stores, their catalogue and stock, and residents' orders.

Invariants: an item's ``stock`` (on the shelf, free to order) and ``held`` (set aside for open orders) never
go below zero (CHECK, and every change is a conditional UPDATE). Every change of what is physically on hand
writes a ``StockMovement`` and the sum of an item's movements is ``stock + held``. A household's monthly quota
per item is one row per month whose ``used`` only moves by conditional UPDATE. Every order state change writes
an ``OrderEvent``.

Model docstrings become table comments: keep ";" out of them (SQLite's migration editor splits DDL on it).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

from backend.models.org import ScopedColumns

APP = "delivery"


class MovementKind(StrEnum):
    DONATION = "donation"  # 捐赠入库 (驻区单位 / 社会组织 / 个人)
    PURCHASE = "purchase"  # 采购入库
    ADJUSTMENT = "adjustment"  # 调整 (with a reason), and 盘点 corrections
    TRANSFER_IN = "transfer_in"  # 调入 from another store
    TRANSFER_OUT = "transfer_out"  # 调出 to another store
    ORDER_OUT = "order_out"  # 订单出库: handed over to the resident or the volunteer
    RETURN = "return"  # 退回: goods handed over and brought back

    @property
    def label(self) -> str:
        return MOVEMENT_LABELS[self]


MOVEMENT_LABELS = {
    MovementKind.DONATION: "捐赠入库",
    MovementKind.PURCHASE: "采购入库",
    MovementKind.ADJUSTMENT: "库存调整",
    MovementKind.TRANSFER_IN: "调入",
    MovementKind.TRANSFER_OUT: "调出",
    MovementKind.ORDER_OUT: "订单出库",
    MovementKind.RETURN: "退回入库",
}


class DonorKind(StrEnum):
    UNIT = "unit"  # 驻区单位
    ORGANISATION = "organisation"  # 社会组织
    PERSON = "person"  # 个人


class Fulfilment(StrEnum):
    PICKUP = "pickup"  # 到店自提
    DELIVERY = "delivery"  # 送货上门 (a delivery task)


class OrderStatus(StrEnum):
    CONFIRMED = "confirmed"  # stock held, points reserved
    HANDED_OVER = "handed_over"  # delivery orders: the volunteer has the goods
    COMPLETED = "completed"  # received: points settled to the store
    CANCELLED = "cancelled"  # stock and points released

    @property
    def label(self) -> str:
        return {"confirmed": "已下单", "handed_over": "配送中", "completed": "已完成", "cancelled": "已取消"}[
            self.value
        ]


class Store(models.Model, ScopedColumns):
    """One community's 爱心超市, placed in its community (ancestor ids) and on the map (for delivery distance)."""  # noqa: E501 - a table comment

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    address = fields.CharField(max_length=200, null=True)
    phone = fields.CharField(max_length=20, null=True)
    lat = fields.FloatField()
    lng = fields.FloatField()
    is_active = fields.BooleanField(default=True, db_default=True)
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "store"
        unique_together = (("community_id", "name"),)


class StoreItem(models.Model, ScopedColumns):
    """One catalogue entry of a store with its stock. ``stock`` is free to order, ``held`` is set aside."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "delivery.Store", related_name="items", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    category = fields.CharField(max_length=32)
    unit = fields.CharField(max_length=16)  # 袋, 瓶, 件…
    photo_media_id = fields.BigIntField(null=True)
    price_points = fields.IntField()
    monthly_limit = fields.IntField(null=True)  # per household per calendar month, NULL = no limit
    stock = fields.IntField(default=0, db_default=0)
    held = fields.IntField(default=0, db_default=0)
    low_stock_at = fields.IntField(default=5, db_default=5)
    is_active = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "store_item"
        unique_together = (("store_id", "name"),)
        constraints = (
            CheckConstraint(check="stock >= 0", name="store_item_stock_nonneg"),
            CheckConstraint(check="held >= 0", name="store_item_held_nonneg"),
            CheckConstraint(check="price_points >= 0", name="store_item_price_nonneg"),
            CheckConstraint(
                check="monthly_limit IS NULL OR monthly_limit > 0", name="store_item_limit_positive"
            ),
            CheckConstraint(check="low_stock_at >= 0", name="store_item_low_stock_nonneg"),
        )


class StockMovement(models.Model, ScopedColumns):
    """One change of what is on hand, never edited: who, what, how many, why, and what was on hand after."""

    id = fields.BigIntField(primary_key=True)
    item: fields.ForeignKeyRelation[StoreItem] = fields.ForeignKeyField(
        "delivery.StoreItem", related_name="movements", on_delete=fields.RESTRICT, db_index=False
    )
    store_id = fields.BigIntField()
    kind = fields.CharEnumField(MovementKind, max_length=16)
    qty = fields.IntField()
    on_hand_after = fields.IntField()
    donor_kind = fields.CharEnumField(DonorKind, max_length=16, null=True)
    donor_name = fields.CharField(max_length=64, null=True)
    donated_on = fields.DateField(null=True)
    receipt_no = fields.CharField(max_length=64, null=True)
    reason = fields.CharField(max_length=200, null=True)
    order_id = fields.BigIntField(null=True)
    stocktake_id = fields.BigIntField(null=True)
    transfer_key = fields.CharField(max_length=36, null=True)  # pairs a transfer's out and in
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_movement"
        indexes = (("item_id", "id"),)
        constraints = (
            CheckConstraint(check="qty <> 0", name="stock_movement_nonzero"),
            CheckConstraint(check="on_hand_after >= 0", name="stock_movement_on_hand_nonneg"),
            CheckConstraint(
                check="kind <> 'donation' OR (donor_kind IS NOT NULL AND donor_name IS NOT NULL "
                "AND donated_on IS NOT NULL)",
                name="stock_movement_donation_donor",
            ),
            CheckConstraint(
                check="kind <> 'adjustment' OR reason IS NOT NULL", name="stock_movement_adjust_reason"
            ),
        )


class StockTake(models.Model, ScopedColumns):
    """A 盘点: counted against recorded per item, and the adjustments it posted (``lines`` as data)."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "delivery.Store", related_name="stocktakes", on_delete=fields.RESTRICT
    )
    lines = fields.JSONField(default=list)  # [{item_id, name, recorded, counted, delta}]
    note = fields.CharField(max_length=200, null=True)
    actor_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_take"


class Order(models.Model, ScopedColumns):
    """A resident's order (placed by them or by staff on their behalf), scoped by the resident's household."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "delivery.Store", related_name="orders", on_delete=fields.RESTRICT
    )
    resident: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="store_orders", on_delete=fields.RESTRICT
    )
    household_id = fields.BigIntField(null=True)
    placed_by_id = fields.BigIntField()  # the resident, or the staff member on the phone
    fulfilment = fields.CharEnumField(Fulfilment, max_length=16)
    status = fields.CharEnumField(OrderStatus, max_length=16, default=OrderStatus.CONFIRMED)
    total_points = fields.IntField()
    quota_holder = fields.CharField(max_length=24)  # "h<household id>" or "u<user id>"
    month = fields.CharField(max_length=7)  # the quota month, YYYY-MM (Asia/Shanghai)
    note = fields.CharField(max_length=200, null=True)
    cancel_reason = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    completed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "store_order"
        indexes = (("resident_id", "id"), ("status", "id"))
        constraints = (CheckConstraint(check="total_points >= 0", name="store_order_total_nonneg"),)


class OrderLine(models.Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "delivery.Order", related_name="lines", on_delete=fields.CASCADE
    )
    item: fields.ForeignKeyRelation[StoreItem] = fields.ForeignKeyField(
        "delivery.StoreItem", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    name = fields.CharField(max_length=64)
    qty = fields.IntField()
    price_points = fields.IntField()

    class Meta:
        table = "store_order_line"
        constraints = (CheckConstraint(check="qty > 0", name="store_order_line_qty_positive"),)


class OrderEvent(models.Model):
    """History of an order: who moved it from which status to which, when and why."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "delivery.Order", related_name="events", on_delete=fields.CASCADE
    )
    from_status = fields.CharEnumField(OrderStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(OrderStatus, max_length=16)
    actor_id = fields.BigIntField(null=True)
    on_behalf_of_id = fields.BigIntField(null=True)
    reason = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "store_order_event"


class HouseholdQuota(models.Model):
    """Units of one item a household (or a person without one) took in one month: moved only conditionally."""

    id = fields.BigIntField(primary_key=True)
    holder = fields.CharField(max_length=24)
    item: fields.ForeignKeyRelation[StoreItem] = fields.ForeignKeyField(
        "delivery.StoreItem", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    month = fields.CharField(max_length=7)
    used = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "store_household_quota"
        unique_together = (("holder", "item_id", "month"),)
        constraints = (CheckConstraint(check="used >= 0", name="store_household_quota_nonneg"),)
