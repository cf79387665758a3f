"""Housekeeping jobs that ride on the outbox itself."""

from __future__ import annotations

from datetime import timedelta

from backend.core.timeutil import utcnow
from backend.models.idempotency import IdempotencyRecord
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox.registry import handler, periodic

DONE_RETENTION = timedelta(days=7)

periodic("outbox.prune", every=timedelta(hours=1))
periodic("idempotency.prune", every=timedelta(hours=1))


@handler("outbox.prune")
async def prune_outbox(event: OutboxEvent) -> None:
    """Delete delivered events after a week (dead ones stay until someone looks at them)."""
    await OutboxEvent.filter(status=OutboxStatus.DONE, done_at__lt=utcnow() - DONE_RETENTION).delete()


@handler("idempotency.prune")
async def prune_idempotency(event: OutboxEvent) -> None:
    """Forget stored answers whose replay window has passed."""
    await IdempotencyRecord.filter(expires_at__lt=utcnow()).delete()
