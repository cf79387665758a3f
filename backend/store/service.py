"""爱心超市 stores, catalogue and stock: every change of what is on hand is a conditional UPDATE of the item
(never below zero) plus a ``StockMovement`` and an audit row, in one transaction. Orders are in ``orders.py``.

Callers: ``from backend.store import service as store``."""

from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError

from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import AlreadyExists
from backend.core.timeutil import to_local, utcnow
from backend.ledger import service as ledger
from backend.models.org import OrgUnit
from backend.models.store import MOVEMENT_LABELS, MovementKind, StockMovement, StockTake, Store, StoreItem
from backend.notifications import recipients
from backend.notifications.enums import register_kind
from backend.notifications.service import notify
from backend.store import repository
from backend.store.exceptions import CountBelowHeld, ItemNotFound, StockChanged, StockWouldGoNegative
from backend.store.places import place_of
from backend.store.schemas import (
    ItemIn,
    ItemOut,
    ItemUpdate,
    MovementIn,
    MovementOut,
    StockTakeIn,
    StoreIn,
    StoreOut,
)

LOW_STOCK = register_kind("store.low_stock", "爱心超市库存不足")


def store_out(s: Store) -> StoreOut:
    return StoreOut(
        id=s.id,
        name=s.name,
        address=s.address,
        phone=s.phone,
        lat=s.lat,
        lng=s.lng,
        community_id=s.community_id,
        is_active=s.is_active,
    )


def item_out(i: StoreItem, remaining: int | None = None) -> ItemOut:
    return ItemOut(
        id=i.id,
        store_id=i.store_id,
        name=i.name,
        category=i.category,
        unit=i.unit,
        photo_media_id=i.photo_media_id,
        price_points=i.price_points,
        monthly_limit=i.monthly_limit,
        stock=i.stock,
        held=i.held,
        low_stock_at=i.low_stock_at,
        is_low=i.stock <= i.low_stock_at,
        is_active=i.is_active,
        my_remaining=remaining,
    )


def movement_out(m: StockMovement) -> MovementOut:
    return MovementOut(
        id=m.id,
        item_id=m.item_id,
        kind=m.kind,
        kind_label=MOVEMENT_LABELS[MovementKind(m.kind)],
        qty=m.qty,
        on_hand_after=m.on_hand_after,
        donor_kind=m.donor_kind,
        donor_name=m.donor_name,
        donated_on=m.donated_on,
        receipt_no=m.receipt_no,
        reason=m.reason,
        order_id=m.order_id,
        actor_id=m.actor_id,
        created_at=m.created_at,
    )


async def create_store(community: OrgUnit, body: StoreIn, *, actor_id: int) -> Store:
    """A new 爱心超市 and its points account in the ledger, together."""
    try:
        async with atomic():
            store = await Store.create(
                name=body.name,
                address=body.address,
                phone=body.phone,
                lat=body.lat,
                lng=body.lng,
                created_by_id=actor_id,
                **place_of(community),
            )
            await ledger.open_store_account(
                store.id, community=community, name=f"{community.name}{body.name}", actor_id=actor_id
            )
            await audit.record("store:create", actor_id=actor_id, object_type="store", object_id=store.id)
    except IntegrityError as exc:
        raise AlreadyExists("本社区已有同名的爱心超市") from exc
    return store


async def create_item(store: Store, body: ItemIn, *, actor_id: int) -> StoreItem:
    try:
        async with atomic():
            item = await StoreItem.create(store_id=store.id, **body.model_dump(), **place_of(store))
            await audit.record(
                "store:item_create",
                actor_id=actor_id,
                object_type="store_item",
                object_id=item.id,
                detail=body.model_dump(mode="json"),
            )
    except IntegrityError as exc:
        raise AlreadyExists("该超市已有同名商品") from exc
    return item


async def update_item(item: StoreItem, body: ItemUpdate, *, actor_id: int) -> StoreItem:
    changes = body.model_dump(exclude_unset=True)
    if changes:
        try:
            async with atomic():
                await StoreItem.filter(id=item.id).update(**changes, updated_at=utcnow())
                await audit.record(
                    "store:item_update",
                    actor_id=actor_id,
                    object_type="store_item",
                    object_id=item.id,
                    detail={k: str(v) for k, v in changes.items()},
                )
        except IntegrityError as exc:
            raise AlreadyExists("该超市已有同名商品") from exc
    return await StoreItem.get(id=item.id)


async def _movement(
    item: StoreItem, kind: MovementKind, qty: int, on_hand: int, *, actor_id: int | None, **extra
) -> StockMovement:  # type: ignore[no-untyped-def]
    movement = await StockMovement.create(
        item_id=item.id,
        store_id=item.store_id,
        kind=kind,
        qty=qty,
        on_hand_after=on_hand,
        actor_id=actor_id,
        **place_of(item),
        **extra,
    )
    await audit.record(
        f"stock:{kind.value}",
        actor_id=actor_id,
        object_type="store_item",
        object_id=item.id,
        detail={
            "movement_id": movement.id,
            "qty": qty,
            "on_hand_after": on_hand,
            **({"order_id": extra["order_id"]} if extra.get("order_id") else {}),
        },
    )
    return movement


async def warn_if_low(item: StoreItem, before: int, after: int, low_at: int) -> None:
    """Tell the community's staff when the shelf stock falls to the alert level (once a day per item)."""
    if not (after <= low_at < before):
        return
    community = await OrgUnit.get_or_none(id=item.community_id) if item.community_id else None
    staff = await recipients.community_staff(community) if community else []
    if staff:
        await notify(
            staff,
            LOW_STOCK,
            {
                "title": f"库存不足：{item.name[:40]}",
                "body": f"{item.name} 仅剩 {after}{item.unit}，请及时补货",
                "link": f"pages/store/item?id={item.id}",
                "item_id": item.id,
            },
            dedupe_key=f"store.low_stock:{item.id}:{to_local(utcnow()).date()}",
        )


async def record_movement(item: StoreItem, body: MovementIn, *, actor_id: int) -> StockMovement:
    """A donation, purchase, adjustment or return: stock changes and the movement is written together."""
    async with atomic():
        row = await repository.add(item.id, body.qty)
        if row is None:
            raise StockWouldGoNegative(detail={"stock": item.stock, "qty": body.qty})
        movement = await _movement(
            item,
            body.kind,
            body.qty,
            row["stock"] + row["held"],
            actor_id=actor_id,
            donor_kind=body.donor_kind,
            donor_name=body.donor_name,
            donated_on=body.donated_on,
            receipt_no=body.receipt_no,
            reason=body.reason,
        )
        await warn_if_low(item, row["stock"] - body.qty, row["stock"], row["low_stock_at"])
    return movement


async def transfer(
    source: StoreItem, target: StoreItem, qty: int, *, reason: str | None, actor_id: int
) -> tuple[StockMovement, StockMovement]:
    """调拨: out of one store's item, into another's, with one key pairing the two movements."""
    if source.id == target.id:
        raise ItemNotFound("不能调拨到同一商品", detail={"loc": "body.to_item_id"})
    key = str(uuid.uuid4())
    async with atomic():
        rows = {}
        for item, delta in sorted(((source, -qty), (target, qty)), key=lambda p: p[0].id):  # lock in id order
            rows[item.id] = await repository.add(item.id, delta)
            if rows[item.id] is None:
                raise StockWouldGoNegative(detail={"stock": source.stock, "qty": qty})
        out_row, in_row = rows[source.id], rows[target.id]
        out = await _movement(
            source,
            MovementKind.TRANSFER_OUT,
            -qty,
            out_row["stock"] + out_row["held"],
            actor_id=actor_id,
            transfer_key=key,
            reason=reason or f"调往商品 #{target.id}",
        )
        into = await _movement(
            target,
            MovementKind.TRANSFER_IN,
            qty,
            in_row["stock"] + in_row["held"],
            actor_id=actor_id,
            transfer_key=key,
            reason=reason or f"调自商品 #{source.id}",
        )
        await warn_if_low(source, out_row["stock"] + qty, out_row["stock"], out_row["low_stock_at"])
    return out, into


async def stocktake(store: Store, body: StockTakeIn, *, actor_id: int) -> StockTake:
    """盘点: compare counted with recorded (on hand = shelf + held) and post the differences as adjustments.
    Each correction is conditional on the stock not having moved since it was read (else 409, count again)."""
    items = {
        i.id: i for i in await StoreItem.filter(store_id=store.id, id__in=[c.item_id for c in body.lines])
    }
    missing = [c.item_id for c in body.lines if c.item_id not in items]
    if missing:
        raise ItemNotFound(detail={"loc": "body.lines", "item_ids": missing})
    async with atomic():
        take = await StockTake.create(store_id=store.id, note=body.note, actor_id=actor_id, **place_of(store))
        lines = []
        for count in sorted(body.lines, key=lambda c: c.item_id):
            item = items[count.item_id]
            recorded = item.stock + item.held
            delta = count.counted - recorded
            lines.append(
                {
                    "item_id": item.id,
                    "name": item.name,
                    "recorded": recorded,
                    "counted": count.counted,
                    "delta": delta,
                }
            )
            if delta == 0:
                continue
            if count.counted < item.held:
                raise CountBelowHeld(detail={"item_id": item.id, "held": item.held, "counted": count.counted})
            row = await repository.set_counted(
                item.id, delta, recorded_stock=item.stock, recorded_held=item.held
            )
            if row is None:
                raise StockChanged(detail={"item_id": item.id})
            await _movement(
                item,
                MovementKind.ADJUSTMENT,
                delta,
                row["stock"] + row["held"],
                actor_id=actor_id,
                stocktake_id=take.id,
                reason=f"盘点 #{take.id}：账面 {recorded}，实盘 {count.counted}",
            )
        await StockTake.filter(id=take.id).update(lines=lines)
        await audit.record(
            "store:stocktake",
            actor_id=actor_id,
            object_type="store",
            object_id=store.id,
            detail={"stocktake_id": take.id, "changed": sum(1 for line in lines if line["delta"])},
        )
    take.lines = lines
    return take
