"""Bodies of the outbox admin view."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.core.timeutil import LocalDatetime
from backend.models.outbox import OutboxStatus


class OutboxEventOut(BaseModel):
    id: int
    kind: str
    status: OutboxStatus
    attempts: int
    max_attempts: int
    run_at: LocalDatetime
    last_error: str | None
    payload: dict[str, Any]
    created_at: LocalDatetime
    updated_at: LocalDatetime


class OutboxStats(BaseModel):
    counts: dict[str, dict[str, int]]  # kind -> status -> count
    oldest_pending_seconds: float | None


def event_out(event) -> OutboxEventOut:  # type: ignore[no-untyped-def]
    return OutboxEventOut(
        id=event.id, kind=event.kind, status=event.status, attempts=event.attempts,
        max_attempts=event.max_attempts, run_at=event.run_at, last_error=event.last_error,
        payload=event.payload or {}, created_at=event.created_at, updated_at=event.updated_at,
    )
