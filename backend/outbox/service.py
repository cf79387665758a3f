"""Write side effects to the outbox, inside the caller's transaction."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.core import audit, sql
from backend.core.bus import get_bus
from backend.core.db import atomic, on_commit
from backend.core.timeutil import utcnow
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox import repository

log = logging.getLogger(__name__)

WAKE_CHANNEL = "outbox:wake"
OUTBOX_DEFAULT_ATTEMPTS = 8
# Every write that has a side effect runs this: hand-written SQL (see backend/core/sql.py).
_INSERT = (
    "INSERT INTO outbox_event (kind, payload, dedupe_key, status, run_at, attempts, max_attempts,"
    " created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, 0, $5, $6, $7) RETURNING id"
)


def _new_event(event_id: int, kind: str, payload: dict[str, Any], dedupe_key: str | None, run_at: datetime,
               max_attempts: int, now: datetime) -> OutboxEvent:
    """The row just inserted, as a model, from the values we sent (``sql.as_stored``)."""
    return sql.as_stored(OutboxEvent, dict(
        id=event_id, kind=kind, payload=payload, dedupe_key=dedupe_key, status=OutboxStatus.PENDING,
        run_at=run_at, attempts=0, max_attempts=max_attempts, created_at=now, updated_at=now,
    ))


# At most one hint per WAKE_GAP_SECONDS: under load every write with a side effect due now would otherwise
# publish one (a Redis round trip and a task each), and one hint wakes every worker anyway. A commit that
# lands while a hint is on its way, or in the gap after it, gets one more at the gap's end: none waits for the
# poll. Measured (foundation benchmark, 2026-12-07): write 44–47 % of the baseline without the gap, 50–56 %
# with it; the notifications benchmark's commit → socket p50 stays within 7 ms (target 15).
WAKE_GAP_SECONDS = 0.005
_wake_pending: asyncio.Task[None] | None = None
_wake_again = False


async def _publish_wake() -> None:
    global _wake_pending, _wake_again
    try:
        while True:
            _wake_again = False
            try:
                await get_bus().publish(WAKE_CHANNEL, b"1")
            except Exception:  # noqa: BLE001 - a hint only: workers also poll; a Redis outage delays, never loses
                pass
            await asyncio.sleep(WAKE_GAP_SECONDS)
            if not _wake_again:
                return
    finally:
        _wake_pending = None


async def wake() -> None:
    """Tell workers there is work, after a commit. Never waits for the bus; a burst of commits shares hints
    (at most one PUBLISH per ``WAKE_GAP_SECONDS``, and one after the burst's last commit)."""
    global _wake_pending, _wake_again
    if _wake_pending is None:
        _wake_pending = asyncio.create_task(_publish_wake())
    else:
        _wake_again = True


async def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
) -> OutboxEvent | None:
    """Record a side effect to run after commit (or at ``run_at``).

    Call it inside ``atomic()``: the event commits or rolls back with the change that caused it. With a
    ``dedupe_key`` already present, nothing is added and ``None`` is returned.
    """
    now = utcnow()
    payload = payload or {}
    run_at = run_at or now
    max_attempts = max_attempts or OUTBOX_DEFAULT_ATTEMPTS
    params = (
        kind, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), dedupe_key, run_at, max_attempts,
        now, now,
    )
    if dedupe_key is not None:
        if await OutboxEvent.exists(dedupe_key=dedupe_key):
            return None
        try:
            async with atomic():  # a savepoint, so a lost race does not abort the caller's transaction
                rows = await sql.fetch(_INSERT, *params)
        except IntegrityError:
            return None
    else:
        rows = await sql.fetch(_INSERT, *params)
    event = _new_event(rows[0]["id"], kind, payload, dedupe_key, run_at, max_attempts, now)
    if run_at <= utcnow():
        on_commit(wake)
    return event


async def retry_dead(event_id: int, *, actor_id: int) -> OutboxEvent | None:
    """Put a dead event back in the queue with a fresh attempt budget (audited); None if there is none."""
    async with atomic():
        if not await repository.retry(event_id):
            return None
        await audit.record("outbox:retry", actor_id=actor_id, object_type="outbox_event", object_id=event_id)
        on_commit(wake)
    return await OutboxEvent.get(id=event_id)
