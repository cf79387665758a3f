"""A worker process for the tests: the real ``Worker`` with the test handlers loaded.

Run as ``python -m tests.outbox.worker_main`` with the JINLIN_* environment of the test database."""

from __future__ import annotations

import asyncio
import signal

from tortoise.context import TortoiseContext

import tests.outbox.handlers  # noqa: F401 - registers the test handlers
from backend.config import get_settings
from backend.core.bus import make_bus, set_bus
from backend.core.db import tortoise_config
from backend.outbox.worker import Worker


async def _no_periodic() -> None:
    return None


async def main() -> None:
    settings = get_settings()
    bus = make_bus(settings.redis_url)
    set_bus(bus)
    worker = Worker(settings, bus)
    # The periodic jobs would be scheduled at start with their slot already due, and a test that kills this
    # process mid-run would find them leased next to its own event. Scheduling is tested in-process
    # (test_periodic_jobs_are_enqueued_once_per_period_by_any_number_of_workers); here only the tests' events
    # run.
    worker.schedule_periodic = _no_periodic  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.stop)
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings))
        await worker.run_forever()
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
