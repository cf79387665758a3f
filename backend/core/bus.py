"""A small message bus: publish/subscribe hints, a distributed lock and a short-lived cache.

Two implementations behind one interface: ``RedisBus`` (production, through ``redis.asyncio``; not the abandoned
``aioredis``, see docs/adr/0002) and ``InProcessBus`` (the embedded shape: one process, nothing to install).
Pub/sub is a hint channel only: it delivers to whoever listens at publish time, with no replay. Anything that
must not be lost goes through the outbox table first.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


class LockNotAcquired(Exception):
    """The lock stayed busy for the whole wait."""


class Subscription(ABC):
    """An open subscription: iterate it for ``(channel, data)`` pairs; close it when done."""

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]: ...

    @abstractmethod
    async def close(self) -> None: ...


class Bus(ABC):
    @abstractmethod
    async def publish(self, channel: str, data: bytes | str) -> None: ...

    @abstractmethod
    async def subscribe(self, *patterns: str) -> Subscription:
        """Subscribe to channels; ``*`` in a pattern matches any run of characters."""

    @abstractmethod
    def lock(self, name: str, *, ttl: float, wait: float = 0.0) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``name`` for at most ``ttl`` seconds; wait up to ``wait`` seconds for it, else LockNotAcquired."""

    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(self, key: str, value: bytes | str, *, ttl: float | None = None) -> None: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def ping(self) -> bool: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        return None


def _as_bytes(data: bytes | str) -> bytes:
    return data if isinstance(data, bytes) else data.encode()


# --------------------------------------------------------------------------------------------- in-process


class _LocalSubscription(Subscription):
    def __init__(self, bus: InProcessBus, patterns: tuple[str, ...]):
        self._bus = bus
        self.patterns = patterns
        self.queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(maxsize=10_000)

    def matches(self, channel: str) -> bool:
        return any(fnmatch.fnmatchcase(channel, p) for p in self.patterns)

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._subs.discard(self)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class InProcessBus(Bus):
    def __init__(self) -> None:
        self._subs: set[_LocalSubscription] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, tuple[bytes, float | None]] = {}

    async def publish(self, channel: str, data: bytes | str) -> None:
        payload = _as_bytes(data)
        for sub in list(self._subs):
            if sub.matches(channel):
                try:
                    sub.queue.put_nowait((channel, payload))
                except asyncio.QueueFull:  # a stuck listener loses hints, never blocks publishers
                    log.warning("in-process subscriber queue full; dropping hint on %s", channel)

    async def subscribe(self, *patterns: str) -> Subscription:
        sub = _LocalSubscription(self, patterns)
        self._subs.add(sub)
        return sub

    @asynccontextmanager
    async def lock(self, name: str, *, ttl: float, wait: float = 0.0) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), timeout=max(wait, 0.001))
        except TimeoutError as exc:
            raise LockNotAcquired(name) from exc
        try:
            yield
        finally:
            lock.release()

    async def get(self, key: str) -> bytes | None:
        item = self._cache.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            self._cache.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes | str, *, ttl: float | None = None) -> None:
        self._cache[key] = (_as_bytes(value), time.monotonic() + ttl if ttl else None)

    async def delete(self, key: str) -> None:
        self._cache.pop(key, None)

    async def ping(self) -> bool:
        return True


# --------------------------------------------------------------------------------------------------- redis

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class _RedisSubscription(Subscription):
    def __init__(self, pubsub, prefix_len: int) -> None:  # type: ignore[no-untyped-def]
        self._pubsub = pubsub
        self._prefix_len = prefix_len

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        async for message in self._pubsub.listen():
            if message["type"] in ("message", "pmessage"):
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                yield channel[self._prefix_len :], _as_bytes(message["data"])

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()


class RedisBus(Bus):
    def __init__(self, url: str, *, prefix: str = "jinlin:") -> None:
        from redis import asyncio as aioredis  # redis-py's asyncio client, the successor of aioredis

        self.prefix = prefix
        self.redis = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)

    def _k(self, key: str) -> str:
        return self.prefix + key

    async def publish(self, channel: str, data: bytes | str) -> None:
        await self.redis.publish(self._k(channel), _as_bytes(data))

    async def subscribe(self, *patterns: str) -> Subscription:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        plain = [self._k(p) for p in patterns if "*" not in p]
        globbed = [self._k(p) for p in patterns if "*" in p]
        if plain:
            await pubsub.subscribe(*plain)
        if globbed:
            await pubsub.psubscribe(*globbed)
        return _RedisSubscription(pubsub, len(self.prefix))

    @asynccontextmanager
    async def lock(self, name: str, *, ttl: float, wait: float = 0.0) -> AsyncIterator[None]:
        key, token = self._k(f"lock:{name}"), secrets.token_hex(16)
        deadline = time.monotonic() + wait
        while not await self.redis.set(key, token, nx=True, px=max(int(ttl * 1000), 1)):
            if time.monotonic() >= deadline:
                raise LockNotAcquired(name)
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await self.redis.eval(_RELEASE, 1, key, token)

    async def get(self, key: str) -> bytes | None:
        return await self.redis.get(self._k(key))

    async def set(self, key: str, value: bytes | str, *, ttl: float | None = None) -> None:
        await self.redis.set(self._k(key), _as_bytes(value), px=int(ttl * 1000) if ttl else None)

    async def delete(self, key: str) -> None:
        await self.redis.delete(self._k(key))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        await self.redis.aclose()


def make_bus(redis_url: str | None, *, prefix: str = "jinlin:") -> Bus:
    return RedisBus(redis_url, prefix=prefix) if redis_url else InProcessBus()


_bus: Bus | None = None


def get_bus() -> Bus:
    """The process's bus (set at start-up by ``set_bus``)."""
    if _bus is None:
        raise RuntimeError("bus not initialised")
    return _bus


def set_bus(bus: Bus | None) -> None:
    global _bus
    _bus = bus
