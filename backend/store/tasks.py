"""Outbox handlers of the 爱心超市: the low-stock alert an order queues when it takes an item down to its
alert level (``store.low_stock_check``, written in the order's own transaction). The alert itself is a
notification with a daily dedupe key (``service.warn_if_low``): running the event twice tells staff once."""

from __future__ import annotations

from backend.models.outbox import OutboxEvent
from backend.models.store import StoreItem
from backend.outbox.registry import handler
from backend.store.repository import LOW_STOCK_EVENT
from backend.store.service import warn_if_low


@handler(LOW_STOCK_EVENT)
async def low_stock(event: OutboxEvent) -> None:
    p = event.payload
    item = await StoreItem.get_or_none(id=p["item_id"])
    if item is not None:
        await warn_if_low(item, p["before"], p["after"], p["low_stock_at"])
