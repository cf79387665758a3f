"""Bodies of /api/v1/store: stores, the catalogue with stock, movements, stock-takes and orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.core.timeutil import LocalDatetime
from backend.models.store import DonorKind, Fulfilment, MovementKind, OrderStatus

Id = Annotated[int, Field(gt=0, le=2**62)]
Qty = Annotated[int, Field(gt=0, le=100_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreIn(Strict):
    community_id: Id
    name: str = Field(min_length=1, max_length=64)
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class StoreOut(BaseModel):
    id: int
    name: str
    address: str | None
    phone: str | None
    lat: float
    lng: float
    community_id: int | None
    is_active: bool


class ItemIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=32)
    unit: str = Field(min_length=1, max_length=16)
    price_points: int = Field(ge=0, le=1_000_000)
    monthly_limit: int | None = Field(default=None, ge=1, le=10_000)
    low_stock_at: int = Field(default=5, ge=0, le=100_000)
    photo_media_id: Id | None = None


class ItemUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    category: str | None = Field(default=None, min_length=1, max_length=32)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    price_points: int | None = Field(default=None, ge=0, le=1_000_000)
    monthly_limit: int | None = Field(default=None, ge=1, le=10_000)
    low_stock_at: int | None = Field(default=None, ge=0, le=100_000)
    photo_media_id: Id | None = None
    is_active: bool | None = None


class ItemOut(BaseModel):
    id: int
    store_id: int
    name: str
    category: str
    unit: str
    photo_media_id: int | None
    price_points: int
    monthly_limit: int | None
    stock: int
    held: int
    low_stock_at: int
    is_low: bool
    is_active: bool
    my_remaining: int | None = Field(default=None, description="本户本月还可兑换的数量（无限额时为空）")


class MovementIn(Strict):
    """A donation (donor, date, receipt), purchase, adjustment (signed, with a reason) or return."""

    kind: MovementKind
    qty: int = Field(ge=-100_000, le=100_000)
    donor_kind: DonorKind | None = None
    donor_name: str | None = Field(default=None, min_length=1, max_length=64)
    donated_on: date | None = None
    receipt_no: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _rules(self) -> MovementIn:
        if self.kind in (MovementKind.TRANSFER_IN, MovementKind.TRANSFER_OUT, MovementKind.ORDER_OUT):
            raise ValueError("调拨请用 /transfers，订单出库由订单流程记录")
        if self.qty == 0:
            raise ValueError("数量不能为 0")
        if self.kind is not MovementKind.ADJUSTMENT and self.qty < 0:
            raise ValueError("入库数量必须为正数（减少库存请用 adjustment 并说明原因）")
        if self.kind is MovementKind.DONATION and not (
            self.donor_kind and self.donor_name and self.donated_on
        ):
            raise ValueError("捐赠入库须填写捐赠方类型、名称和捐赠日期")
        if self.kind is MovementKind.ADJUSTMENT and not self.reason:
            raise ValueError("库存调整须说明原因")
        return self


class TransferIn(Strict):
    to_item_id: Id
    qty: Qty
    reason: str | None = Field(default=None, max_length=200)


class MovementOut(BaseModel):
    id: int
    item_id: int
    kind: MovementKind
    kind_label: str
    qty: int
    on_hand_after: int
    donor_kind: DonorKind | None
    donor_name: str | None
    donated_on: date | None
    receipt_no: str | None
    reason: str | None
    order_id: int | None
    actor_id: int | None
    created_at: LocalDatetime


class CountIn(Strict):
    item_id: Id
    counted: int = Field(ge=0, le=10_000_000)


class StockTakeIn(Strict):
    lines: list[CountIn] = Field(min_length=1, max_length=2000)
    note: str | None = Field(default=None, max_length=200)


class StockTakeLine(BaseModel):
    item_id: int
    name: str
    recorded: int
    counted: int
    delta: int


class StockTakeOut(BaseModel):
    id: int
    store_id: int
    lines: list[StockTakeLine]
    note: str | None
    created_at: LocalDatetime


class LineIn(Strict):
    item_id: Id
    qty: Annotated[int, Field(gt=0, le=100)]


class OrderIn(Strict):
    store_id: Id
    fulfilment: Fulfilment
    lines: list[LineIn] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=200)
    for_user_id: Id | None = Field(default=None, description="工作人员代居民下单（如电话预约）时填居民 id")

    @model_validator(mode="after")
    def _distinct(self) -> OrderIn:
        if len({line.item_id for line in self.lines}) != len(self.lines):
            raise ValueError("同一商品请合并为一行")
        return self


class OrderLineOut(BaseModel):
    item_id: int
    name: str
    qty: int
    price_points: int


class OrderOut(BaseModel):
    id: int
    store_id: int
    resident_id: int
    placed_by_id: int
    on_behalf: bool
    fulfilment: Fulfilment
    status: OrderStatus
    status_label: str
    total_points: int
    lines: list[OrderLineOut]
    note: str | None
    task_id: int | None
    created_at: LocalDatetime
    completed_at: LocalDatetime | None
    cancelled_at: LocalDatetime | None


class CancelIn(Strict):
    reason: str | None = Field(default=None, max_length=200)
