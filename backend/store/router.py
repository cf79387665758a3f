"""/api/v1/store: the 爱心超市 catalogue, stock (movements, transfers, 盘点, low-stock alerts) and orders."""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.dependencies import CurrentUser
from backend.core.deps import SettingsDep
from backend.core.errors import AlreadyExists, InvalidTransition, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.core.timeutil import to_local, utcnow
from backend.ledger.exceptions import InsufficientBalance
from backend.models.store import Fulfilment
from backend.models.tasks import Task
from backend.store import orders, repository, service
from backend.store.dependencies import (
    CounterOrder,
    StoreAdmin,
    VisibleOrder,
    VisibleStore,
    WritableItem,
    WritableStore,
    admins,
    community_for_store,
    is_family,
    resident_for,
    staff,
    store_to_order_from,
    target_item,
    visible_scope,
)
from backend.store.exceptions import (
    CountBelowHeld,
    ItemNotFound,
    MonthlyLimitReached,
    NoHousehold,
    OrderNotCancellable,
    OrderNotFound,
    OutOfStock,
    StockChanged,
    StockWouldGoNegative,
    StoreNotFound,
)
from backend.store.schemas import (
    CancelIn,
    ItemIn,
    ItemOut,
    ItemUpdate,
    MovementIn,
    MovementOut,
    OrderIn,
    OrderOut,
    StockTakeIn,
    StockTakeOut,
    StoreIn,
    StoreOut,
    TransferIn,
)

router = APIRouter(prefix="/api/v1/store", tags=["store"])


async def _out(order) -> OrderOut:  # type: ignore[no-untyped-def]
    task_id = await Task.filter(order_id=order.id).first().values_list("id", flat=True)
    return orders.order_out(order, task_id)


# ------------------------------------------------------------------------------------------------ stores


@router.get("/stores", response_model=list[StoreOut])
async def list_stores(principal: CurrentUser):
    """我所在社区（或负责范围）的爱心超市。"""
    rows = (
        await repository.scoped_stores(await visible_scope(principal))
        .filter(is_active=True)
        .order_by("id")
        .limit(200)
    )
    return [service.store_out(s) for s in rows]


@router.post(
    "/stores", response_model=StoreOut, status_code=201, responses=responses(NotFound, AlreadyExists)
)
async def create_store(body: StoreIn, principal: StoreAdmin):
    """开设爱心超市（同时在账本中开设其积分账户）。"""
    community = await community_for_store(principal, body.community_id)
    return service.store_out(await service.create_store(community, body, actor_id=principal.id))


@router.get("/stores/{store_id}/items", response_model=list[ItemOut], responses=responses(StoreNotFound))
async def catalogue(store: VisibleStore, principal: CurrentUser):
    """商品目录：积分价格、库存、本户本月还可兑换的数量。"""
    items = await repository.items_of(store.id, active_only=not admins(principal).covers(store))
    holder = orders.quota_holder(principal.user)
    used = await repository.used_this_month(
        holder, [i.id for i in items], to_local(utcnow()).strftime("%Y-%m")
    )
    return [
        service.item_out(i, None if i.monthly_limit is None else max(0, i.monthly_limit - used.get(i.id, 0)))
        for i in items
    ]


@router.post(
    "/stores/{store_id}/items",
    response_model=ItemOut,
    status_code=201,
    responses=responses(StoreNotFound, AlreadyExists),
)
async def create_item(body: ItemIn, store: WritableStore, principal: StoreAdmin):
    return service.item_out(await service.create_item(store, body, actor_id=principal.id))


@router.patch("/items/{item_id}", response_model=ItemOut, responses=responses(ItemNotFound, AlreadyExists))
async def update_item(body: ItemUpdate, item: WritableItem, principal: StoreAdmin):
    return service.item_out(await service.update_item(item, body, actor_id=principal.id))


@router.post(
    "/items/{item_id}/movements",
    response_model=MovementOut,
    status_code=201,
    responses=responses(ItemNotFound, StockWouldGoNegative),
)
async def record_movement(body: MovementIn, item: WritableItem, principal: StoreAdmin):
    """入库（捐赠、采购）、调整（需说明原因）或退回。"""
    return service.movement_out(await service.record_movement(item, body, actor_id=principal.id))


@router.get("/items/{item_id}/movements", response_model=Page[MovementOut], responses=responses(ItemNotFound))
async def list_movements(item: WritableItem, cursor: CursorParam = None, limit: LimitParam = 50):
    """出入库明细（最新在前）。"""
    rows = await repository.movements(item.id, before_id=decode_cursor(cursor), limit=limit)
    return page_of(rows, limit, service.movement_out)


@router.post(
    "/items/{item_id}/transfers",
    response_model=list[MovementOut],
    status_code=201,
    responses=responses(ItemNotFound, StockWouldGoNegative),
)
async def transfer(body: TransferIn, item: WritableItem, principal: StoreAdmin):
    """调拨到另一家爱心超市的商品。"""
    target = await target_item(principal, body.to_item_id)
    out, into = await service.transfer(item, target, body.qty, reason=body.reason, actor_id=principal.id)
    return [service.movement_out(out), service.movement_out(into)]


@router.post(
    "/stores/{store_id}/stocktakes",
    response_model=StockTakeOut,
    status_code=201,
    responses=responses(StoreNotFound, ItemNotFound, StockChanged, CountBelowHeld),
)
async def stocktake(body: StockTakeIn, store: WritableStore, principal: StoreAdmin):
    """盘点：提交实盘数量，差异自动记为库存调整。"""
    take = await service.stocktake(store, body, actor_id=principal.id)
    return StockTakeOut(
        id=take.id, store_id=take.store_id, lines=take.lines, note=take.note, created_at=take.created_at
    )


@router.get("/low-stock", response_model=list[ItemOut])
async def low_stock(principal: StoreAdmin):
    """库存不足提醒：我负责范围内库存已降到提醒线的商品。"""
    return [service.item_out(i) for i in await repository.low_stock(admins(principal))]


# ------------------------------------------------------------------------------------------------ orders


ORDER_ERRORS = (
    StoreNotFound,
    ItemNotFound,
    NotFound,
    NoHousehold,
    OutOfStock,
    MonthlyLimitReached,
    InsufficientBalance,
)


@router.post("/orders", response_model=OrderOut, status_code=201, responses=responses(*ORDER_ERRORS))
async def place_order(body: OrderIn, principal: CurrentUser, settings: SettingsDep):
    """下单：冻结积分、预留库存，送货上门时生成配送任务。工作人员可代居民下单（for_user_id）。"""
    resident = await resident_for(principal, body.for_user_id)
    ctx = await store_to_order_from(
        principal,
        resident,
        body.store_id,
        [ln.item_id for ln in body.lines],
        delivery=body.fulfilment is Fulfilment.DELIVERY,
    )
    placed = await orders.place(settings, ctx, resident, body, actor_id=principal.id)
    return orders.order_out(placed.order, placed.task_id, placed.lines)


@router.get("/orders/mine", response_model=Page[OrderOut])
async def my_orders(principal: CurrentUser, cursor: CursorParam = None, limit: LimitParam = 20):
    """我（和家人）的订单。"""
    rows = await repository.orders_of(
        principal.id, household_id=principal.user.household_id, before_id=decode_cursor(cursor), limit=limit
    )
    tasks = dict(await Task.filter(order_id__in=[o.id for o in rows]).values_list("order_id", "id"))
    return page_of(rows, limit, lambda o: orders.order_out(o, tasks.get(o.id)))


@router.get("/orders", response_model=Page[OrderOut])
async def list_orders(principal: StoreAdmin, cursor: CursorParam = None, limit: LimitParam = 50):
    """我负责范围内的订单（最新在前）。"""
    qs = repository.scoped_orders(admins(principal))
    if (before := decode_cursor(cursor)) is not None:
        qs = qs.filter(id__lt=before)
    rows = await qs.order_by("-id").limit(limit + 1).prefetch_related("lines")
    tasks = dict(await Task.filter(order_id__in=[o.id for o in rows]).values_list("order_id", "id"))
    return page_of(rows, limit, lambda o: orders.order_out(o, tasks.get(o.id)))


@router.get("/orders/{order_id}", response_model=OrderOut, responses=responses(OrderNotFound))
async def get_order(order: VisibleOrder):
    return await _out(order)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    responses=responses(OrderNotFound, OrderNotCancellable, InvalidTransition),
)
async def cancel_order(order: VisibleOrder, principal: CurrentUser, body: CancelIn | None = None):
    """取消订单（取货前）：退回积分和库存。工作人员也可取消已取货的订单（货物退回入库）。"""
    is_staff = staff(principal).covers(order)
    order = await orders.cancel(
        order,
        actor_id=principal.id,
        reason=body.reason if body else None,
        staff=is_staff and not is_family(principal, order.resident_id, None),
    )
    return await _out(order)


@router.post(
    "/orders/{order_id}/handover",
    response_model=OrderOut,
    responses=responses(OrderNotFound, InvalidTransition),
)
async def hand_over(order: CounterOrder, principal: StoreAdmin):
    """到店自提的订单当面交付（积分结算给超市）。送货上门的订单由配送任务的取货环节交付。"""
    if order.fulfilment != "pickup":
        raise InvalidTransition("送货上门的订单请在配送任务中确认取货")
    return await _out(await orders.hand_over(order, actor_id=principal.id))
