"""Outbox handlers of the notifications domain: push hints, send WeChat messages, the daily digest."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.core.bus import get_bus
from backend.models.outbox import OutboxEvent
from backend.notifications import fanout, service, subscribe
from backend.outbox.registry import handler, periodic

# Aligned to the Unix epoch in UTC: 00:00 UTC is 08:00 in Beijing, after the usual quiet hours.
periodic("notifications.digest", every=timedelta(days=1))


@handler(service.PUSH)
async def push(event: OutboxEvent) -> None:
    """Publish a hint per inbox item of one notification event, once its items are below the inbox horizon.
    Runs after the commit; when the bus is away it raises and the outbox retries with backoff. A repeated run
    repeats hints, which sockets drop by id."""
    await fanout.push_event(get_bus(), int(event.payload["event_id"]))


@handler(service.WECHAT)
async def wechat(event: OutboxEvent) -> None:
    """Send the WeChat subscribe message of one inbox item (see backend/notifications/subscribe.py)."""
    await subscribe.deliver(int(event.payload["delivery_id"]))


@handler("notifications.digest")
async def digest(event: OutboxEvent) -> None:
    """One inbox item per user summarising the items muted or kept quiet before this slot."""
    before = datetime.fromisoformat(event.payload["slot"]) if "slot" in event.payload else event.run_at
    await service.send_digests(before)
