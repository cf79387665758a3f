"""A real outbox worker that stops dead at a chosen point, so a test can SIGKILL it there.

Run as ``python -m tests.notifications.worker_main`` with the JINLIN_* environment of the test database, plus:
- ``JINLIN_TEST_HANG_AFTER=notifications.push,notifications.wechat``: on the first attempt, after the handler did
  its work (hints published, WeChat answered and the delivery recorded) and before the outbox marks the event
  done, write an audit row ``test:handled`` and hang;
- ``JINLIN_TEST_HANG_AFTER_SEND=1``: hang right after WeChat accepted a subscribe message, before the delivery
  records it (audit row ``test:sent``).
Without them it is an ordinary worker.
"""

from __future__ import annotations

import asyncio
import os
import signal

from tortoise.context import TortoiseContext

from backend.config import get_settings
from backend.core.bus import make_bus, set_bus
from backend.core.db import tortoise_config
from backend.models.audit import AuditLog
from backend.models.outbox import OutboxEvent
from backend.outbox import registry
from backend.outbox.worker import Worker
from backend.wechat.client import WechatClient

HANG = {k for k in os.environ.get("JINLIN_TEST_HANG_AFTER", "").split(",") if k}


def _hang_after(kind: str) -> None:
    real = registry.get_handler(kind)
    assert real is not None, kind

    async def wrapped(event: OutboxEvent) -> None:
        await real(event)
        if event.attempts == 1:
            await AuditLog.create(action="test:handled", object_type="outbox_event", object_id=str(event.id),
                                  detail={"kind": kind, "pid": os.getpid()})
            await asyncio.sleep(3600)

    registry._handlers[kind] = wrapped


def _hang_after_send() -> None:
    real = WechatClient.send_subscribe_message

    async def wrapped(self, **kwargs):  # type: ignore[no-untyped-def]
        answer = await real(self, **kwargs)
        await AuditLog.create(action="test:sent", object_type="wechat", object_id=kwargs.get("openid"))
        await asyncio.sleep(3600)
        return answer

    WechatClient.send_subscribe_message = wrapped  # type: ignore[method-assign]


async def main() -> None:
    registry.load_all()
    for kind in HANG:
        _hang_after(kind)
    if os.environ.get("JINLIN_TEST_HANG_AFTER_SEND"):
        _hang_after_send()
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
