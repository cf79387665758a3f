"""Queries of the 爱心超市 domain. Lists start from ``Scope``; stock moves only through the conditional
statements here (hand-written: they return the new stock, and they are the hot path of ordering)."""

from __future__ import annotations

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from backend.core import sql
from backend.core.timeutil import utcnow
from backend.models.store import HouseholdQuota, Order, StockMovement, Store, StoreItem
from backend.org.scope import Scope

_HOLD = ("UPDATE store_item SET stock = stock - $1, held = held + $2, updated_at = $3 "
         "WHERE id = $4 AND store_id = $5 AND is_active AND stock >= $6 RETURNING stock, held, low_stock_at")
_UNHOLD = ("UPDATE store_item SET stock = stock + $1, held = held - $2, updated_at = $3 "
           "WHERE id = $4 AND held >= $5 RETURNING stock, held")
_RELEASE_HELD = ("UPDATE store_item SET held = held - $1, updated_at = $2 WHERE id = $3 AND held >= $4 "
                 "RETURNING stock, held")
_ADD = ("UPDATE store_item SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND stock + $4 >= 0 "
        "RETURNING stock, held, low_stock_at")
_SET_COUNTED = ("UPDATE store_item SET stock = stock + $1, updated_at = $2 "
                "WHERE id = $3 AND stock = $4 AND held = $5 AND stock + $6 >= 0 RETURNING stock, held")
_USE_QUOTA = ("UPDATE store_household_quota SET used = used + $1 "
              "WHERE holder = $2 AND item_id = $3 AND month = $4 AND used + $5 <= $6")
_FREE_QUOTA = ("UPDATE store_household_quota SET used = used - $1 "
               "WHERE holder = $2 AND item_id = $3 AND month = $4 AND used >= $5")


# ------------------------------------------------------------------------------------------------ reads


def scoped_stores(scope: Scope) -> QuerySet[Store]:
    return scope.filter(Store.all())


def scoped_items(scope: Scope) -> QuerySet[StoreItem]:
    return scope.filter(StoreItem.all())


def scoped_orders(scope: Scope) -> QuerySet[Order]:
    return scope.filter(Order.all())


async def items_of(store_id: int, *, active_only: bool) -> list[StoreItem]:
    qs = StoreItem.filter(store_id=store_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return await qs.order_by("category", "name")


async def low_stock(scope: Scope, limit: int = 500) -> list[StoreItem]:
    return await scoped_items(scope).filter(is_active=True, stock__lte=F("low_stock_at")).order_by("stock", "id").limit(limit)


async def used_this_month(holder: str, item_ids: list[int], month: str) -> dict[int, int]:
    rows = await HouseholdQuota.filter(holder=holder, item_id__in=item_ids, month=month).values_list("item_id", "used")
    return dict(rows)


async def movements(item_id: int, *, before_id: int | None, limit: int) -> list[StockMovement]:
    qs = StockMovement.filter(item_id=item_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def orders_of(user_id: int, *, household_id: int | None, before_id: int | None, limit: int) -> list[Order]:
    """A resident's orders, and those of their household (family members see each other's)."""
    who = Q(resident_id=user_id) | Q(household_id=household_id) if household_id else Q(resident_id=user_id)
    qs = Order.filter(who)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1).prefetch_related("lines")


# ------------------------------------------------------------------------------------------------ stock


async def hold(item_id: int, store_id: int, qty: int) -> dict | None:
    """Move ``qty`` from the shelf to "held for an order", if that many are on the shelf."""
    rows = await sql.fetch(_HOLD, qty, qty, utcnow(), item_id, store_id, qty)
    return rows[0] if rows else None


async def unhold(item_id: int, qty: int) -> dict | None:
    rows = await sql.fetch(_UNHOLD, qty, qty, utcnow(), item_id, qty)
    return rows[0] if rows else None


async def release_held(item_id: int, qty: int) -> dict | None:
    """Held goods leave the store (handed over)."""
    rows = await sql.fetch(_RELEASE_HELD, qty, utcnow(), item_id, qty)
    return rows[0] if rows else None


async def add(item_id: int, delta: int) -> dict | None:
    """Change the shelf stock by ``delta`` unless it would go below zero."""
    rows = await sql.fetch(_ADD, delta, utcnow(), item_id, delta)
    return rows[0] if rows else None


async def set_counted(item_id: int, delta: int, *, recorded_stock: int, recorded_held: int) -> dict | None:
    """Apply a stock-take correction only if nothing moved since the recorded values were read."""
    rows = await sql.fetch(_SET_COUNTED, delta, utcnow(), item_id, recorded_stock, recorded_held, delta)
    return rows[0] if rows else None


async def use_quota(holder: str, item_id: int, month: str, qty: int, limit: int) -> bool:
    await HouseholdQuota.bulk_create([HouseholdQuota(holder=holder, item_id=item_id, month=month)],
                                     ignore_conflicts=True)
    return bool(await sql.execute(_USE_QUOTA, qty, holder, item_id, month, qty, limit))


async def free_quota(holder: str, item_id: int, month: str, qty: int) -> None:
    await sql.execute(_FREE_QUOTA, qty, holder, item_id, month, qty)
