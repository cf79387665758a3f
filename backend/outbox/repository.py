"""Queries of the outbox admin view."""

from __future__ import annotations

from tortoise.functions import Count, Min

from backend.core.timeutil import utcnow
from backend.models.outbox import OutboxEvent, OutboxStatus


async def events(*, status: OutboxStatus | None, kind: str | None, before_id: int | None, limit: int) -> list[OutboxEvent]:
    qs = OutboxEvent.all()
    if status is not None:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def counts() -> dict[str, dict[str, int]]:
    rows = await OutboxEvent.all().group_by("kind", "status").annotate(n=Count("id")).values("kind", "status", "n")
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["kind"], {})[str(row["status"])] = row["n"]
    return out


async def oldest_pending_seconds() -> float | None:
    row = await OutboxEvent.filter(status=OutboxStatus.PENDING, run_at__lte=utcnow()).annotate(
        oldest=Min("run_at")
    ).values("oldest")
    oldest = row[0]["oldest"] if row else None
    return (utcnow() - oldest).total_seconds() if oldest else None


async def retry(event_id: int) -> int:
    """Put a dead event back in the queue with a fresh attempt budget."""
    return await OutboxEvent.filter(id=event_id, status=OutboxStatus.DEAD).update(
        status=OutboxStatus.PENDING, attempts=0, run_at=utcnow(), locked_by=None, locked_until=None, updated_at=utcnow()
    )
