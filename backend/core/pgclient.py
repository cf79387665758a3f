"""Tortoise's asyncpg client with a first-come, first-served connection pool.

asyncpg's pool hands out connections through an ``asyncio.LifoQueue``. When a connection is released, the
longest waiter is woken, but any coroutine that calls ``get()`` before that waiter runs takes the connection
instead, and the woken waiter goes to the *back* of the line. Under load (every pool connection busy, the
event loop saturated) that happens all the time: a request waits for a connection twice (authentication, then
its transaction) and some requests lose the race again and again. On the platform benchmark at 64 clients and
a pool of 20 that was the whole tail: p50 50 ms, p99 250-400 ms.

``FairHolderQueue`` hands a released connection straight to the longest waiter, and lets nobody take one
while others are waiting. Selected through the connection config's ``engine`` (``backend.core.db``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from asyncpg.pool import _PoolConnectionHolderQueue
from tortoise.backends.asyncpg.client import AsyncpgDBClient


class FairHolderQueue(_PoolConnectionHolderQueue):
    """asyncpg's holder queue, first come first served: no barging past waiters."""

    async def get(self) -> Any:
        while self._getters and self._getters[0].done():  # cancelled waiters still in line
            self._getters.popleft()
        if not self._getters and not self.empty():
            return self.get_nowait()
        waiter = self._get_loop().create_future()
        self._getters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # handed a connection, then cancelled before taking it: pass it to the next in line
                self.put_nowait(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._getters.remove(waiter)
            raise

    def put_nowait(self, item: Any) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)


def make_fair(pool: asyncpg.Pool) -> asyncpg.Pool:
    """Swap the pool's holder queue for a ``FairHolderQueue`` holding the same (idle) connections."""
    old = pool._queue
    fair = FairHolderQueue(maxsize=old.maxsize)
    while not old.empty():
        fair.put_nowait(old.get_nowait())
    pool._queue = fair
    return pool


class FairAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return make_fair(await super().create_pool(**kwargs))


client_class = FairAsyncpgClient

__all__ = ["FairAsyncpgClient", "FairHolderQueue", "client_class", "make_fair"]
