"""Queries of the 爱心超市 domain. Lists start from ``Scope``; stock moves only through the conditional
statements here (hand-written: they return the new stock, and they are the hot path of ordering).

Placing an order is the hottest write of the domain, so its statements are hand-written (backend/core/sql.py):
one query loads everything the order needs (``order_context``), and on PostgreSQL the whole order (rows,
quota, points, stock) is one data-modifying statement (``place_at_once``, ADR 27); ``insert_order`` writes the
rows step by step on SQLite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from backend.core import sql
from backend.core.logging import request_id_var
from backend.core.timeutil import utcnow
from backend.models.org import Household, OrgUnit
from backend.models.store import (
    Fulfilment,
    HouseholdQuota,
    Order,
    OrderStatus,
    StockMovement,
    Store,
    StoreItem,
)
from backend.org.scope import Scope
from backend.outbox.service import OUTBOX_DEFAULT_ATTEMPTS

_HOLD = (
    "UPDATE store_item SET stock = stock - $1, held = held + $2, updated_at = $3 "
    "WHERE id = $4 AND store_id = $5 AND is_active AND stock >= $6 RETURNING stock, held, low_stock_at"
)
_UNHOLD = (
    "UPDATE store_item SET stock = stock + $1, held = held - $2, updated_at = $3 "
    "WHERE id = $4 AND held >= $5 RETURNING stock, held"
)
_RELEASE_HELD = (
    "UPDATE store_item SET held = held - $1, updated_at = $2 WHERE id = $3 AND held >= $4 "
    "RETURNING stock, held"
)
_ADD = (
    "UPDATE store_item SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND stock + $4 >= 0 "
    "RETURNING stock, held, low_stock_at"
)
_SET_COUNTED = (
    "UPDATE store_item SET stock = stock + $1, updated_at = $2 "
    "WHERE id = $3 AND stock = $4 AND held = $5 AND stock + $6 >= 0 RETURNING stock, held"
)
_FREE_QUOTA = (
    "UPDATE store_household_quota SET used = used - $1 "
    "WHERE holder = $2 AND item_id = $3 AND month = $4 AND used >= $5"
)


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
    return (
        await scoped_items(scope)
        .filter(is_active=True, stock__lte=F("low_stock_at"))
        .order_by("stock", "id")
        .limit(limit)
    )


async def used_this_month(holder: str, item_ids: list[int], month: str) -> dict[int, int]:
    rows = await HouseholdQuota.filter(holder=holder, item_id__in=item_ids, month=month).values_list(
        "item_id", "used"
    )
    return dict(rows)


async def movements(item_id: int, *, before_id: int | None, limit: int) -> list[StockMovement]:
    qs = StockMovement.filter(item_id=item_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def orders_of(
    user_id: int, *, household_id: int | None, before_id: int | None, limit: int
) -> list[Order]:
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


async def free_quota(holder: str, item_id: int, month: str, qty: int) -> None:
    await sql.execute(_FREE_QUOTA, qty, holder, item_id, month, qty)


# ------------------------------------------------------------------------------------------------ ordering

_UNIT = (
    "id",
    "level",
    "name",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
    "building_id",
    "lat",
    "lng",
)
_HOUSEHOLD = ("id", "building_id", "street_id", "community_id", "grid_id", "compound_id")
_ITEM = (
    "id",
    "store_id",
    "name",
    "category",
    "unit",
    "price_points",
    "monthly_limit",
    "stock",
    "held",
    "low_stock_at",
    "is_active",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
)
_HOME = ("hb", "hp", "hg", "hc")  # the household's building, compound, grid and community: the nearest placed
_STORE_FIELDS = frozenset(Store._meta.db_fields)


def _columns(alias: str, names: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{n} AS {alias}_{n}" for n in names)


def _context_sql(n_items: int, home: bool) -> str:
    """Placeholders in the order they appear: the household, the item ids, the store."""
    items = ", ".join(f"${i}" for i in range(2, n_items + 2))
    home_cols = "".join(f", {a}.lat AS {a}_lat, {a}.lng AS {a}_lng" for a in _HOME) if home else ""
    home_joins = (
        "".join(
            f" LEFT JOIN org_unit {a} ON {a}.id = h.{c}"
            for a, c in zip(_HOME, ("building_id", "compound_id", "grid_id", "community_id"), strict=True)
        )
        if home
        else ""
    )
    return (
        f"SELECT s.*, {_columns('c', _UNIT)}, {_columns('h', _HOUSEHOLD)}, {_columns('i', _ITEM)}{home_cols}"
        " FROM store s LEFT JOIN org_unit c ON c.id = s.community_id LEFT JOIN household h ON h.id = $1"
        f" LEFT JOIN store_item i ON i.store_id = s.id AND i.is_active AND i.id IN ({items}){home_joins}"
        f" WHERE s.id = ${n_items + 2}"
    )


_context_cache: dict[tuple[int, bool], str] = {}


@dataclass
class OrderContext:
    """What placing an order needs, read in one query: the store (any: the caller checks its scope), its
    community, the resident's household and where it is, and the active items asked for (by id)."""

    store: Store | None
    community: OrgUnit | None
    household: Household | None
    items: dict[int, StoreItem]
    home: tuple[float, float] | None = None


def _pick(row: dict, alias: str, names: tuple[str, ...]) -> dict:
    return {n: row[f"{alias}_{n}"] for n in names}


async def order_context(
    store_id: int, item_ids: list[int], household_id: int | None, *, home: bool
) -> OrderContext:
    """One query for the order path (``home``: also the household's position, for delivery)."""
    key = (len(item_ids), home)
    text = _context_cache.get(key) or _context_cache.setdefault(key, _context_sql(len(item_ids), home))
    rows = await sql.fetch(text, household_id, *item_ids, store_id)
    if not rows:
        return OrderContext(None, None, None, {})
    first = rows[0]
    store = Store._init_from_db(**{k: v for k, v in first.items() if k in _STORE_FIELDS})
    community = OrgUnit._init_from_db(**_pick(first, "c", _UNIT)) if first["c_id"] is not None else None
    household = (
        Household._init_from_db(**_pick(first, "h", _HOUSEHOLD)) if first["h_id"] is not None else None
    )
    items = {
        r["i_id"]: StoreItem._init_from_db(**_pick(r, "i", _ITEM)) for r in rows if r["i_id"] is not None
    }
    point = None
    if home and household is not None:
        point = next(
            (
                (first[f"{a}_lat"], first[f"{a}_lng"])
                for a in _HOME
                if first[f"{a}_lat"] is not None and first[f"{a}_lng"] is not None
            ),
            None,
        )
    return OrderContext(store, community, household, items, point)


@dataclass
class NewOrder:
    """The rows of a new order, as ``insert_order`` writes them."""

    store_id: int
    resident_id: int
    household_id: int | None
    placed_by_id: int
    on_behalf_of_id: int | None
    fulfilment: str
    total_points: int
    quota_holder: str
    month: str
    note: str | None
    place: dict[str, int | None]
    lines: list[tuple[int, str, int, int]]  # (item id, name, qty, price), in item id order
    limited: list[tuple[int, int]]  # (item id, qty) of the lines under a monthly limit
    created_at: datetime


_ORDER_COLUMNS = (
    "store_id, resident_id, household_id, placed_by_id, fulfilment, status, total_points, quota_holder,"
    " month, note, street_id, community_id, grid_id, compound_id, created_at, updated_at"
)
_ORDER_NAMES = [c.strip() for c in _ORDER_COLUMNS.split(",") if c.strip() != "status"]  # ``_head``'s order
_INSERT_ORDER = (
    f"INSERT INTO store_order ({_ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $8, $9,"
    " $10, $11, $12, $13, $14, $15) RETURNING *"
)
_AUDIT = (
    "INSERT INTO audit_log (actor_id, on_behalf_of_id, action, object_type, object_id, detail, request_id,"
    " created_at)"
)
# PostgreSQL: the whole order in one statement (data-modifying CTEs; ADR 27), in the order the step-by-step
# path takes its rows: the order, its lines, history and audit rows; the quota rows, upserted (a new row takes
# the quantity if it is within the item's limit, an existing one only while ``used + qty`` stays within it,
# decided under the row lock: a concurrent order of the same household waits on the unique key, then sees the
# winner's ``used``; the limit is the item's as stored now); then, last, ``store_order_hold`` (migration
# delivery/0002): the quota verdict, the points reserved through ``ledger_post`` and the stock held, items in
# id order, any refusal raised so that nothing of the order stays. The hot rows (the items) are locked only
# for the rest of the statement and its commit. An item falling to its alert level queues
# ``store.low_stock_check`` in the same statement.
_QUOTA_WITHIN = (
    "ON CONFLICT (holder, item_id, month) DO UPDATE SET used = hq.used + EXCLUDED.used"
    " WHERE hq.used + EXCLUDED.used <= (SELECT monthly_limit FROM store_item WHERE id = EXCLUDED.item_id)"
    " RETURNING item_id"
)
LOW_STOCK_EVENT = "store.low_stock_check"  # the outbox job; the notification it sends is "store.low_stock"
_PLACE_PG = (
    f"WITH o AS ({_INSERT_ORDER}),"
    " l AS (INSERT INTO store_order_line (order_id, item_id, name, qty, price_points)"
    " SELECT o.id, u.item_id, u.name, u.qty, u.price FROM o"
    " CROSS JOIN unnest($16::bigint[], $17::text[], $18::int[], $19::int[])"
    " AS u(item_id, name, qty, price)),"
    " e AS (INSERT INTO store_order_event"
    " (order_id, from_status, to_status, actor_id, on_behalf_of_id, created_at)"
    " SELECT o.id, NULL, 'confirmed', o.placed_by_id, $20::bigint, o.created_at FROM o),"
    f" a AS ({_AUDIT} SELECT o.placed_by_id, $21::bigint, 'order:place', 'store_order', o.id::text,"
    " $22::jsonb, $23::text, o.created_at FROM o),"
    " q AS (INSERT INTO store_household_quota AS hq (holder, item_id, month, used)"
    " SELECT o.quota_holder, u.item_id, o.month, u.qty FROM o"
    " CROSS JOIN unnest($24::bigint[], $25::int[]) AS u(item_id, qty) JOIN store_item i ON i.id = u.item_id"
    f" WHERE u.qty <= i.monthly_limit ORDER BY u.item_id {_QUOTA_WITHIN}),"
    " h AS (SELECT s.* FROM o, LATERAL store_order_hold(o.id, o.store_id, $16::bigint[], $18::int[],"
    " $24::bigint[], ARRAY(SELECT item_id FROM q), o.created_at, format($26::text, o.id), o.placed_by_id,"
    " format($27::text, o.id), $28::bigint, $29::bigint, $30::bigint, $31::bigint, $32::text[],"
    " $33::bigint[], $34::text[], $35::bigint[], $36::boolean[]) AS s),"
    " w AS (INSERT INTO outbox_event (kind, payload, dedupe_key, status, run_at, attempts, max_attempts,"
    f" created_at, updated_at) SELECT '{LOW_STOCK_EVENT}', jsonb_build_object('item_id', out_item, 'before',"
    " out_stock + out_qty, 'after', out_stock, 'low_stock_at', out_low_stock_at), NULL, 'pending',"
    " o.created_at, 0, {attempts}, o.created_at, o.created_at FROM h, o"
    " WHERE out_stock <= out_low_stock_at AND out_stock + out_qty > out_low_stock_at RETURNING id)"
    " SELECT o.id, (SELECT count(*) FROM w) FROM o"
).replace("{attempts}", str(OUTBOX_DEFAULT_ATTEMPTS))
_EVENT = (
    "INSERT INTO store_order_event (order_id, from_status, to_status, actor_id, on_behalf_of_id, created_at)"
    " VALUES ($1, NULL, 'confirmed', $2, $3, $4)"
)
_AUDIT_ONE = f"{_AUDIT} VALUES ($1, $2, 'order:place', 'store_order', $3, $4, $5, $6)"
_QUOTA_ONE = (
    "INSERT INTO store_household_quota AS hq (holder, item_id, month, used) SELECT $1, id, $2, $3"
    f" FROM store_item WHERE id = $4 AND $5 <= monthly_limit {_QUOTA_WITHIN}"
)


def _lines_sql(n: int) -> str:
    rows = ", ".join(
        f"(${5 * i + 1}, ${5 * i + 2}, ${5 * i + 3}, ${5 * i + 4}, ${5 * i + 5})" for i in range(n)
    )
    return f"INSERT INTO store_order_line (order_id, item_id, name, qty, price_points) VALUES {rows}"


def _head(new: NewOrder) -> list[object]:
    p = new.place
    return [
        new.store_id,
        new.resident_id,
        new.household_id,
        new.placed_by_id,
        new.fulfilment,
        new.total_points,
        new.quota_holder,
        new.month,
        new.note,
        p["street_id"],
        p["community_id"],
        p["grid_id"],
        p["compound_id"],
        new.created_at,
        new.created_at,
    ]


def _audit_detail(new: NewOrder) -> str:
    return json.dumps({"total_points": new.total_points, "fulfilment": new.fulfilment}, ensure_ascii=False)


async def place_at_once(new: NewOrder, reserve: list[object]) -> tuple[Order, int]:
    """PostgreSQL: the whole order in one statement (``_PLACE_PG``), in the caller's transaction if any.
    ``reserve`` is the reserve transfer's part of ``store_order_hold``'s arguments: the reason and key as
    ``format`` templates of the order id, the community's place (street, community, grid, compound) and the
    ledger's five leg arrays (all empty when the order costs nothing). Returns the order as stored and how
    many low-stock events it queued. A refusal is raised as the database's error: ST001 (stock), ST002
    (monthly limit), LG001 / LG002 (``ledger.posting.judge_refusal``)."""
    ids, names, qtys, prices = (list(col) for col in zip(*new.lines, strict=True))
    limited = [list(col) for col in zip(*new.limited, strict=True)] or [[], []]
    head = _head(new)
    order_id, low = (
        await sql.rows(
            _PLACE_PG,
            *head,
            ids,
            names,
            qtys,
            prices,
            new.on_behalf_of_id,
            new.on_behalf_of_id,
            _audit_detail(new),
            request_id_var.get(),
            *limited,
            *reserve,
        )
    )[0]
    # the row as written, built from the values sent (``sql.as_stored``): cheaper than decoding RETURNING *
    values = dict(zip(_ORDER_NAMES, head, strict=True))
    values |= {"id": order_id, "status": OrderStatus.CONFIRMED, "fulfilment": Fulfilment(new.fulfilment)}
    return sql.as_stored(Order, values), low


async def insert_order(new: NewOrder) -> tuple[Order, set[int]]:
    """Step by step (SQLite; on PostgreSQL the reference ``place_at_once`` is compared with): write the order,
    its lines, its first history row, the audit row and the monthly quota of its limited lines (in the
    caller's transaction). Returns the order as stored and the ids of the limited items whose quota was taken
    (any other limited item is over the household's limit: the caller refuses the order)."""
    head = _head(new)
    detail = _audit_detail(new)
    order = Order._init_from_db(**(await sql.fetch(_INSERT_ORDER, *head))[0])
    values = [v for item_id, name, qty, price in new.lines for v in (order.id, item_id, name, qty, price)]
    await sql.execute(_lines_sql(len(new.lines)), *values)
    await sql.execute(_EVENT, order.id, new.placed_by_id, new.on_behalf_of_id, new.created_at)
    await sql.execute(
        _AUDIT_ONE,
        new.placed_by_id,
        new.on_behalf_of_id,
        str(order.id),
        detail,
        request_id_var.get(),
        new.created_at,
    )
    taken = set()
    for item_id, qty in new.limited:
        if await sql.fetch(_QUOTA_ONE, new.quota_holder, new.month, qty, item_id, qty):
            taken.add(item_id)
    return order, taken
