"""Write side effects to the outbox, inside the caller's transaction."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.core import audit
from backend.core.bus import get_bus
from backend.core.db import atomic, on_commit
from backend.core.timeutil import utcnow
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox import repository

log = logging.getLogger(__name__)

WAKE_CHANNEL = "outbox:wake"


async def wake() -> None:
    # A hint only: workers also poll, so a missing bus or a Redis outage delays, never loses, an event.
    with contextlib.suppress(Exception):
        await get_bus().publish(WAKE_CHANNEL, b"1")


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
    fields: dict[str, Any] = {
        "kind": kind,
        "payload": payload or {},
        "run_at": run_at or utcnow(),
        "dedupe_key": dedupe_key,
        "status": OutboxStatus.PENDING,
    }
    if max_attempts is not None:
        fields["max_attempts"] = max_attempts
    if dedupe_key is not None:
        if await OutboxEvent.exists(dedupe_key=dedupe_key):
            return None
        try:
            async with atomic():  # a savepoint, so a lost race does not abort the caller's transaction
                event = await OutboxEvent.create(**fields)
        except IntegrityError:
            return None
    else:
        event = await OutboxEvent.create(**fields)
    if run_at is None or run_at <= utcnow():
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
