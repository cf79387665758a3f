"""The outbox worker: claim due events, run their handlers, record the outcome.

Claiming on PostgreSQL is one statement: ``SELECT … FOR UPDATE SKIP LOCKED`` in a CTE picks rows no other worker
holds, and the UPDATE around it stamps them with this claim's token and a lease. On SQLite (no row locks) it is a
single conditional ``UPDATE … WHERE id IN (SELECT … LIMIT n)``; the condition alone keeps two workers apart.
While a handler runs, the worker extends its leases; a worker that dies stops extending, and its rows become due
again when their lease runs out. Completion is fenced by the claim token, so a worker that lost its lease cannot
overwrite the outcome of the one that took over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import traceback
import uuid
from datetime import datetime, timedelta

from prometheus_client import Counter
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery

from backend.config import Settings
from backend.core import heap, sql
from backend.core.bus import Bus
from backend.core.db import is_postgres
from backend.core.timeutil import utcnow
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox import registry, service

log = logging.getLogger(__name__)

PROCESSED = Counter("jinlin_outbox_processed_total", "Outbox events handled", ["kind", "outcome"])


def _due(now: datetime) -> Q:
    return Q(status=OutboxStatus.PENDING, run_at__lte=now) | Q(status=OutboxStatus.RUNNING, locked_until__lt=now)


# The claim on PostgreSQL. The CTE is materialised, so its row locks are taken once, before the UPDATE (an
# inlined sub-select with LIMIT may be evaluated again and lock more rows than it returns). RETURNING's order
# is not the queue's: the caller sorts.
_CLAIM_PG = """
WITH due AS MATERIALIZED (
    SELECT id FROM outbox_event
     WHERE (status = 'pending' AND run_at <= $3) OR (status = 'running' AND locked_until < $4)
     ORDER BY run_at, id
     LIMIT $6
       FOR UPDATE SKIP LOCKED
)
UPDATE outbox_event o
   SET status = 'running', locked_by = $1, locked_until = $2, attempts = o.attempts + 1, updated_at = $5
  FROM due
 WHERE o.id = due.id
RETURNING o.*
"""

# Completion, fenced by the claim token (the hottest bookkeeping statement: one per event).
_DONE = """
UPDATE outbox_event SET status = 'done', done_at = $1, locked_until = NULL, last_error = NULL, updated_at = $2
 WHERE id = $3 AND locked_by = $4 AND status = 'running'
"""


def backoff(settings: Settings, attempts: int) -> float:
    """Exponential backoff with ±20 % jitter, capped."""
    delay = min(settings.outbox_backoff_base_seconds * 2 ** max(attempts - 1, 0), settings.outbox_backoff_max_seconds)
    return delay * random.uniform(0.8, 1.2)


class Worker:
    def __init__(self, settings: Settings, bus: Bus | None = None, *, name: str | None = None) -> None:
        self.settings = settings
        self.bus = bus
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._held: dict[int, str] = {}  # event id -> claim token, for lease extension
        self._concurrency = asyncio.Semaphore(max(1, settings.outbox_batch_size))

    # ---------------------------------------------------------------------------------------- claiming

    async def claim(self, limit: int | None = None) -> list[OutboxEvent]:
        """Claim up to ``limit`` due events for this worker."""
        now = utcnow()
        token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        limit = limit or self.settings.outbox_batch_size
        stamp = {
            "status": OutboxStatus.RUNNING,
            "locked_by": token,
            "locked_until": now + timedelta(seconds=self.settings.outbox_lease_seconds),
            "attempts": F("attempts") + 1,
            "updated_at": now,
        }
        if is_postgres(self.settings):
            # One statement, one round trip: lock what no other worker holds, stamp it, hand it back.
            rows = await sql.fetch(_CLAIM_PG, token, stamp["locked_until"], now, now, now, limit)
            return sorted((OutboxEvent._init_from_db(**r) for r in rows), key=lambda e: (e.run_at, e.id))
        # SQLite has no row locks, and a read-then-write transaction across processes dead-ends in
        # "database is locked": one UPDATE … WHERE id IN (SELECT … LIMIT n) takes the write lock at once.
        candidates = OutboxEvent.filter(_due(now)).order_by("run_at", "id").limit(limit)
        await OutboxEvent.filter(_due(now), id__in=Subquery(candidates.values("id"))).update(**stamp)
        return await OutboxEvent.filter(locked_by=token, status=OutboxStatus.RUNNING).order_by("run_at", "id")

    async def _extend_leases(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.settings.outbox_lease_seconds / 3)
            until = utcnow() + timedelta(seconds=self.settings.outbox_lease_seconds)
            for event_id, token in list(self._held.items()):
                with contextlib.suppress(Exception):
                    await OutboxEvent.filter(id=event_id, locked_by=token, status=OutboxStatus.RUNNING).update(
                        locked_until=until
                    )

    # ------------------------------------------------------------------------------------------ running

    async def run_one(self, event: OutboxEvent) -> str:
        """Run the handler of one claimed event and record the outcome; returns done/retry/dead."""
        token = event.locked_by or ""
        fence = OutboxEvent.filter(id=event.id, locked_by=token, status=OutboxStatus.RUNNING)
        handler = registry.get_handler(event.kind)
        self._held[event.id] = token
        try:
            if handler is None:
                raise registry.GiveUp(f"no handler registered for kind {event.kind!r}")
            if event.attempts > event.max_attempts:
                raise registry.GiveUp(f"claimed {event.attempts} times; its workers may have crashed on it")
            await handler(event)
        except registry.GiveUp as exc:
            outcome = "dead"
            await fence.update(status=OutboxStatus.DEAD, last_error=str(exc)[:4000], locked_until=None, updated_at=utcnow())
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never propagated
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
            if event.attempts >= event.max_attempts:
                outcome = "dead"
                await fence.update(status=OutboxStatus.DEAD, last_error=error, locked_until=None, updated_at=utcnow())
            else:
                outcome = "retry"
                delay = exc.delay if isinstance(exc, registry.Retry) and exc.delay is not None else backoff(
                    self.settings, event.attempts
                )
                await fence.update(
                    status=OutboxStatus.PENDING,
                    run_at=utcnow() + timedelta(seconds=delay),
                    last_error=error,
                    locked_until=None,
                    updated_at=utcnow(),
                )
            log.warning("outbox %s #%s failed (%s): %s", event.kind, event.id, outcome, error)
        else:
            outcome = "done"
            now = utcnow()
            await sql.execute(_DONE, now, now, event.id, token)
        finally:
            self._held.pop(event.id, None)
        PROCESSED.labels(event.kind, outcome).inc()
        return outcome

    async def _guarded(self, event: OutboxEvent) -> None:
        async with self._concurrency:
            try:
                await self.run_one(event)
            except Exception:  # the database went away mid-run: the lease will expire and it will run again
                log.exception("outbox bookkeeping failed for #%s", event.id)

    async def run_due(self) -> int:
        """Claim and run one batch; returns how many events it handled."""
        events = await self.claim()
        if events:
            await asyncio.gather(*(self._guarded(e) for e in events))
        return len(events)

    # ------------------------------------------------------------------------------------------ scheduling

    async def schedule_periodic(self) -> None:
        """Enqueue each periodic job once for its current period (the dedupe key makes this race-free)."""
        now = utcnow()
        for job in registry.periodic_jobs():
            slot = job.slot(now)
            with contextlib.suppress(IntegrityError):
                await service.enqueue(
                    job.kind, {**job.payload, "slot": slot.isoformat()}, run_at=slot,
                    dedupe_key=f"periodic:{job.kind}:{slot.isoformat()}",
                )

    # ------------------------------------------------------------------------------------------ the loop

    async def _listen(self) -> None:
        if self.bus is None:
            return
        while not self._stop.is_set():
            try:
                sub = await self.bus.subscribe(service.WAKE_CHANNEL)
                try:
                    async for _channel, _data in sub:
                        self._wake.set()
                finally:
                    await sub.close()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: polling carries on, try to listen again shortly
                await asyncio.sleep(2)

    async def run_forever(self) -> None:
        """Keep up to ``outbox_batch_size`` handlers running. A slot that frees is filled at once, so one slow
        handler (a WeChat call, a push waiting for the inbox horizon) never holds up the events behind it, as
        claiming batch after batch would (each batch waits for its slowest member)."""
        registry.load_all()
        heap.settle(self.settings.gc_threshold)  # as the API does at startup
        log.info("outbox worker %s started", self.name)
        helpers = [asyncio.create_task(self._extend_leases()), asyncio.create_task(self._listen())]
        running: set[asyncio.Task[None]] = set()
        slots = max(1, self.settings.outbox_batch_size)
        last_schedule = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                self._wake.clear()  # a hint arriving while we work makes the wait below return at once
                free = slots - len(running)
                claimed: list[OutboxEvent] = []
                try:
                    if loop.time() - last_schedule > 30:
                        await self.schedule_periodic()
                        last_schedule = loop.time()
                    if free:
                        claimed = await self.claim(free)
                except Exception:
                    log.exception("outbox loop error")
                for event in claimed:
                    task = asyncio.create_task(self._guarded(event))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if free and len(claimed) == free:
                    continue  # every slot taken and maybe more due: claim again as soon as one frees
                if len(running) >= slots:  # full: wait for a slot
                    await asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)
                    continue
                waker = asyncio.ensure_future(self._wake.wait())
                try:  # nothing more is due: wait for a hint or the next poll
                    await asyncio.wait({waker}, timeout=self.settings.outbox_poll_seconds)
                finally:
                    waker.cancel()
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            log.info("outbox worker %s stopped", self.name)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
