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


async def main() -> None:
    settings = get_settings()
    bus = make_bus(settings.redis_url)
    set_bus(bus)
    worker = Worker(settings, bus)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.stop)
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings))
        await worker.run_forever()
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
