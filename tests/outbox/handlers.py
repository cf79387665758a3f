"""Outbox handlers used by the worker tests (also imported by the worker subprocess the tests start).

Each run leaves an audit row (``test:run``) with its start and end, so tests can count runs and detect overlap,
whether the runs happened in this process or another one."""

from __future__ import annotations

import asyncio
import os
import time

from backend.models.audit import AuditLog
from backend.models.outbox import OutboxEvent
from backend.outbox.registry import GiveUp, handler


async def _record(event: OutboxEvent, start: float, outcome: str) -> None:
    await AuditLog.create(
        action="test:run", object_type="outbox_event", object_id=str(event.id),
        detail={"start": start, "end": time.time(), "pid": os.getpid(), "attempt": event.attempts, "outcome": outcome},
    )


@handler("test.flaky")
async def flaky(event: OutboxEvent) -> None:
    """Fails on its first ``fail`` attempts, then succeeds."""
    start = time.time()
    if event.attempts <= event.payload.get("fail", 0):
        await _record(event, start, "failed")
        raise RuntimeError(f"planned failure #{event.attempts}")
    await _record(event, start, "ok")


@handler("test.slow")
async def slow(event: OutboxEvent) -> None:
    start = time.time()
    await asyncio.sleep(event.payload.get("seconds", 0.05))
    await _record(event, start, "ok")


@handler("test.hang_first")
async def hang_first(event: OutboxEvent) -> None:
    """The first attempt never finishes (its worker gets killed); later attempts succeed."""
    start = time.time()
    if event.attempts == 1:
        await AuditLog.create(action="test:hanging", object_type="outbox_event", object_id=str(event.id))
        await asyncio.sleep(3600)
    await _record(event, start, "ok")


@handler("test.hopeless")
async def hopeless(event: OutboxEvent) -> None:
    raise GiveUp("the recipient does not exist")


@handler("test.tick")
async def tick(event: OutboxEvent) -> None:
    await _record(event, time.time(), "ok")
