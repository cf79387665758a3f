"""The outbox worker: retries with backoff, dead letters, exactly-one concurrent runner, lease recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

import tests.outbox.handlers  # noqa: F401 - registers the test handlers
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.audit import AuditLog
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.outbox import registry
from backend.outbox import service as outbox
from backend.outbox.worker import Worker
from tests.conftest import TEST_SECRET


def _worker(settings, bus, **overrides) -> Worker:  # type: ignore[no-untyped-def]
    return Worker(settings.model_copy(update=overrides), bus)


async def _runs(event_id: int) -> list[dict]:
    rows = await AuditLog.filter(action="test:run", object_id=str(event_id)).order_by("id")
    return [r.detail for r in rows]


async def _drain(worker: Worker, rounds: int = 50) -> None:
    for _ in range(rounds):
        await OutboxEvent.filter(status=OutboxStatus.PENDING).update(run_at=utcnow())  # skip the backoff wait
        if not await worker.run_due() and not await OutboxEvent.filter(status=OutboxStatus.PENDING).exists():
            return


class TestEnqueue:
    async def test_the_returned_event_is_the_stored_row(self):
        """``enqueue`` builds its answer from the values it sent instead of reading the row back: every column
        must agree with a fresh read (a column added to the model and not set there would show up here)."""
        later = utcnow() + timedelta(minutes=5)
        async with atomic():
            plain = await outbox.enqueue("test.tick", {"名": "值", "n": [1, 2]})
            timed = await outbox.enqueue("test.tick", run_at=later, dedupe_key="enqueue-shape", max_attempts=3)
        for event in (plain, timed):
            stored = await OutboxEvent.get(id=event.id)
            for name in OutboxEvent._meta.db_fields:
                assert getattr(event, name) == getattr(stored, name), name
        assert timed.run_at == later and timed.max_attempts == 3 and timed.dedupe_key == "enqueue-shape"
        assert plain.payload == {"名": "值", "n": [1, 2]} and plain.status == OutboxStatus.PENDING


class TestRetries:
    async def test_a_handler_that_fails_twice_then_succeeds_runs_once_successfully(self, settings, bus):
        async with atomic():
            event = await outbox.enqueue("test.flaky", {"fail": 2})
        worker = _worker(settings, bus)
        await _drain(worker)
        await event.refresh_from_db()
        runs = await _runs(event.id)
        assert [r["outcome"] for r in runs] == ["failed", "failed", "ok"]
        assert event.status == OutboxStatus.DONE and event.attempts == 3 and event.last_error is None

    async def test_failures_back_off_exponentially(self, settings, bus):
        async with atomic():
            event = await outbox.enqueue("test.flaky", {"fail": 5})
        worker = _worker(settings, bus, outbox_backoff_base_seconds=10.0)
        delays = []
        for _ in range(3):
            before = utcnow()
            await OutboxEvent.filter(id=event.id).update(run_at=before)
            await worker.run_due()
            await event.refresh_from_db()
            delays.append((event.run_at - before).total_seconds())
        assert 8 <= delays[0] <= 12.5 and 16 <= delays[1] <= 24.5 and 32 <= delays[2] <= 48.5
        assert "planned failure #3" in event.last_error

    async def test_after_max_attempts_the_event_is_dead_with_its_error(self, settings, bus):
        async with atomic():
            event = await outbox.enqueue("test.flaky", {"fail": 99}, max_attempts=3)
        await _drain(_worker(settings, bus))
        await event.refresh_from_db()
        assert event.status == OutboxStatus.DEAD and event.attempts == 3
        assert "planned failure #3" in event.last_error
        assert len(await _runs(event.id)) == 3

    async def test_give_up_and_unknown_kinds_go_straight_to_dead(self, settings, bus):
        async with atomic():
            hopeless = await outbox.enqueue("test.hopeless")
            unknown = await outbox.enqueue("test.nobody-handles-this")
        await _worker(settings, bus).run_due()
        for event, fragment in ((hopeless, "does not exist"), (unknown, "no handler")):
            await event.refresh_from_db()
            assert event.status == OutboxStatus.DEAD and event.attempts == 1 and fragment in event.last_error


class TestTransactions:
    async def test_an_event_in_a_rolled_back_transaction_never_exists(self, settings):
        with pytest.raises(RuntimeError):
            async with atomic():
                await outbox.enqueue("test.tick")
                raise RuntimeError("the write failed")
        assert await OutboxEvent.all().count() == 0

    async def test_a_dedupe_key_enqueues_once(self, settings):
        async with atomic():
            first = await outbox.enqueue("test.tick", dedupe_key="once")
            second = await outbox.enqueue("test.tick", dedupe_key="once")
        assert first is not None and second is None
        assert await OutboxEvent.filter(dedupe_key="once").count() == 1

    async def test_future_events_wait_for_their_time(self, settings, bus):
        async with atomic():
            event = await outbox.enqueue("test.tick", run_at=utcnow() + timedelta(hours=1))
        assert await _worker(settings, bus).run_due() == 0
        await event.refresh_from_db()
        assert event.status == OutboxStatus.PENDING


class TestConcurrency:
    async def test_two_workers_never_run_one_event_at_once(self, settings, bus):
        async with atomic():
            events = [await outbox.enqueue("test.slow", {"seconds": 0.02}) for _ in range(40)]
        a = _worker(settings, bus, outbox_batch_size=5)
        b = _worker(settings, bus, outbox_batch_size=5)

        async def loop(worker: Worker) -> None:
            while await OutboxEvent.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.RUNNING]).exists():
                await worker.run_due()

        await asyncio.wait_for(asyncio.gather(loop(a), loop(b)), timeout=60)
        for event in events:
            assert len(await _runs(event.id)) == 1
        assert await OutboxEvent.filter(status=OutboxStatus.DONE).count() == 40

    async def test_a_slow_handler_does_not_hold_up_the_events_behind_it(self, settings, bus):
        """run_forever refills a slot as soon as it frees: with 2 slots and one handler taking 3 s, ten quick
        events enqueued meanwhile are all done long before the slow one (a batch would wait for its slowest)."""
        async with atomic():
            slow = await outbox.enqueue("test.slow", {"seconds": 3})
        worker = _worker(settings, bus, outbox_batch_size=2, outbox_poll_seconds=0.05)
        running = asyncio.create_task(worker.run_forever())
        try:
            while not await AuditLog.exists(action="test:run") and not await OutboxEvent.filter(
                id=slow.id, status=OutboxStatus.RUNNING
            ).exists():
                await asyncio.sleep(0.01)
            async with atomic():
                quick = [await outbox.enqueue("test.tick") for _ in range(10)]
            started = time.monotonic()
            while await OutboxEvent.filter(id__in=[e.id for e in quick], status=OutboxStatus.DONE).count() < 10:
                assert time.monotonic() - started < 2.5, "quick events waited for the slow one"
                await asyncio.sleep(0.01)
            assert await OutboxEvent.get(id=slow.id).values_list("status", flat=True) == OutboxStatus.RUNNING
        finally:
            worker.stop()
            await asyncio.wait_for(running, timeout=10)  # stopping lets the running handler finish
        assert len(await _runs(slow.id)) == 1
        assert await OutboxEvent.filter(kind__in=["test.slow", "test.tick"], status=OutboxStatus.DONE).count() == 11

    async def test_periodic_jobs_are_enqueued_once_per_period_by_any_number_of_workers(self, settings, bus):
        registry.periodic("test.tick", every=timedelta(hours=1))
        try:
            workers = [_worker(settings, bus) for _ in range(3)]
            await asyncio.gather(*(w.schedule_periodic() for w in workers))
            await asyncio.gather(*(w.schedule_periodic() for w in workers))
            assert await OutboxEvent.filter(kind="test.tick").count() == 1
        finally:
            registry._periodic.pop("test.tick", None)


def _spawn_worker(database, lease: float, batch: int = 20) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {
        "JINLIN_OUTBOX_BATCH_SIZE": str(batch),
        **os.environ, "JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET, "JINLIN_DATABASE_URL": database.url,
        "JINLIN_OUTBOX_LEASE_SECONDS": str(lease), "JINLIN_OUTBOX_POLL_SECONDS": "0.05", "JINLIN_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "tests.outbox.worker_main"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.live
class TestWorkerProcesses:
    async def test_a_killed_workers_event_is_picked_up_again_after_its_lease(self, database, settings, bus):
        async with atomic():
            event = await outbox.enqueue("test.hang_first")
        proc = _spawn_worker(database, lease=1.0)
        try:
            await _wait_for(lambda: AuditLog.filter(action="test:hanging").exists())
            await event.refresh_from_db()
            assert event.status == OutboxStatus.RUNNING and event.locked_by
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        survivor = _worker(settings, bus, outbox_lease_seconds=1.0)
        assert await survivor.run_due() == 0  # the lease has not run out yet: nobody may take it
        await asyncio.sleep(1.2)
        assert await survivor.run_due() == 1
        await event.refresh_from_db()
        assert event.status == OutboxStatus.DONE and event.attempts == 2
        assert [r["outcome"] for r in await _runs(event.id)] == ["ok"]

    async def test_two_worker_processes_share_the_work_without_overlap(self, database, settings):
        start = utcnow() + timedelta(seconds=3)  # both processes are up by then
        async with atomic():
            events = [await outbox.enqueue("test.slow", {"seconds": 0.03}, run_at=start) for _ in range(60)]
        procs = [_spawn_worker(database, lease=10.0, batch=4) for _ in range(2)]
        try:
            await _wait_for(lambda: _all_done(len(events)), timeout=60)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=15)
        runs = [r for e in events for r in await _runs(e.id)]
        assert len(runs) == 60
        assert len({r["pid"] for r in runs}) == 2  # both processes took part
        by_event: dict[int, int] = {}
        for e in events:
            by_event[e.id] = len(await _runs(e.id))
        assert set(by_event.values()) == {1}


async def _all_done(n: int) -> bool:
    return await OutboxEvent.filter(kind="test.slow", status=OutboxStatus.DONE).count() == n


class TestWakeHints:
    """``wake()`` after each commit tells the workers there is work: a burst of commits shares hints (at most
    one per ``WAKE_GAP_SECONDS``), and the commits after a hint left get one more: none waits for the poll."""

    @pytest.fixture
    def hints(self, monkeypatch):  # type: ignore[no-untyped-def]
        sent: list[float] = []

        class Recording:  # the bus, which is not under test here
            async def publish(self, channel: str, data: bytes) -> None:
                assert channel == outbox.WAKE_CHANNEL
                await asyncio.sleep(0.002)  # a round trip to Redis
                sent.append(time.monotonic())

        monkeypatch.setattr(outbox, "get_bus", lambda: Recording())
        return sent

    async def test_commits_before_the_hint_goes_out_share_it(self, hints):
        for _ in range(100):
            await outbox.wake()
        await asyncio.sleep(outbox.WAKE_GAP_SECONDS * 6)
        assert len(hints) == 1

    async def test_commits_after_a_hint_left_get_one_more_after_the_gap(self, hints):
        started = time.monotonic()
        await outbox.wake()
        await asyncio.sleep(0.001)  # the first hint is on its way
        for _ in range(50):
            await outbox.wake()
            await asyncio.sleep(0.0002)  # commits keep landing, through the gaps
        last_commit = time.monotonic()
        await asyncio.sleep(outbox.WAKE_GAP_SECONDS * 8)
        assert 2 <= len(hints) <= 1 + (last_commit - started) / outbox.WAKE_GAP_SECONDS  # not 51, and not 1
        assert all(b - a >= outbox.WAKE_GAP_SECONDS for a, b in zip(hints, hints[1:], strict=False))
        assert hints[-1] > last_commit  # the last commit had a hint after it

    async def test_a_lone_commit_gets_one_hint(self, hints):
        await outbox.wake()
        await asyncio.sleep(outbox.WAKE_GAP_SECONDS * 6)
        assert len(hints) == 1
        await outbox.wake()  # long after: a new burst
        await asyncio.sleep(outbox.WAKE_GAP_SECONDS * 6)
        assert len(hints) == 2
