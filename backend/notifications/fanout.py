"""Hints from the outbox to sockets, across API processes (docs/adr/0008).

- Publishing: the ``notifications.push`` outbox handler publishes one frame per inbox item on
  ``notify:u:<user id>`` (one pipelined round trip to Redis), after the commit and once the items are below the
  inbox horizon (docs/adr/0020), so a Redis outage delays hints (the handler fails and the outbox retries with
  backoff) and never fails the request that caused them.
- Receiving: each API process holds one ``Hub`` with ONE pattern subscription (``notify:u:*``) and forwards
  every frame to its local sockets of that user (a dict lookup; frames for users with no socket here are
  dropped). When the subscription is re-established after an outage, every local socket catches up from the
  database, so hints lost meanwhile are not lost to the client.
- The 5-sockets-per-user limit holds across processes: a Redis sorted set per user (socket id → connect time);
  when a sixth opens, the oldest are closed, by their own process (a ``_close`` control frame on the same user
  channel). Socket ids carry their process's id, and each process keeps a liveness key, so sockets of a crashed
  process stop counting as soon as its key expires. The embedded shape (in-process bus) keeps the same
  bookkeeping in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import secrets
import socket
import time
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from backend.config import Settings
from backend.core.bus import Bus, RedisBus
from backend.models.notifications import InboxItem
from backend.notifications import hotpath, repository
from backend.notifications.service import item_out
from backend.outbox.registry import Retry

if TYPE_CHECKING:
    from backend.notifications.ws import Conn

log = logging.getLogger(__name__)

HEARTBEAT_SLICES = 25  # the sockets of a process are beaten in this many shares, one per tick of the period
HOLD_WAIT_SECONDS = 0.25  # how long a push waits for the horizon before it yields the worker and retries
HOLD_RETRY_SECONDS = 0.25
CHANNEL = "notify:u:"
PATTERN = CHANNEL + "*"
REGISTRY_TTL_SECONDS = 24 * 3600


def channel(user_id: int) -> str:
    return f"{CHANNEL}{user_id}"


def frame(item: InboxItem, prev: int | None) -> str:
    """The client frame of one inbox item (the same for live hints and replays). ``prev`` is the user's previous
    item id (what a socket compares with the last id it sent: equal, send; otherwise read the gap from the
    database); ``t`` is when the event was written (epoch seconds)."""
    body = {"type": "item", "item": item_out(item).model_dump(mode="json"), "prev": prev,
            "t": item.event.created_at.timestamp()}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def publish_many(bus: Bus, messages: Iterable[tuple[str, str]]) -> None:
    """Publish in one round trip on Redis (a non-transactional pipeline); raises when the bus is away."""
    messages = list(messages)
    if not messages:
        return
    if isinstance(bus, RedisBus):
        async with bus.redis.pipeline(transaction=False) as pipe:
            for name, data in messages:
                pipe.publish(bus.prefix + name, data)
            await pipe.execute()
    else:
        for name, data in messages:
            await bus.publish(name, data)


async def push_event(bus: Bus, event_id: int) -> int:
    """Publish one hint per inbox item of an event, once every id up to its newest item is final (the horizon,
    docs/adr/0020): then each item's ``prev`` is settled and no socket that sends it can meet an older id later.
    Raises ``Retry`` when the horizon has not got there within ``HOLD_WAIT_SECONDS`` (an older writer is still
    open), so the worker is not held; returns the number of hints published."""
    items = await repository.items_of_event(event_id)
    if not items:
        return 0
    if not await hotpath.wait_until_final(items[-1].id, timeout=HOLD_WAIT_SECONDS):
        raise Retry("an older inbox writer is still open; hints wait for it", delay=HOLD_RETRY_SECONDS)
    prevs = await hotpath.previous_ids(event_id)
    await publish_many(bus, [(channel(i.user_id), frame(i, prevs.get(i.id))) for i in items])
    return len(items)


# ------------------------------------------------------------------------------------------------ socket limit


class LocalSockets:
    """Per-user socket ids in connect order, for one process (the embedded shape)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_user: dict[int, dict[str, None]] = {}

    async def add(self, user_id: int, sid: str) -> list[str]:
        ids = self.by_user.setdefault(user_id, {})
        ids[sid] = None
        excess = list(ids)[: max(len(ids) - self.limit, 0)]
        for old in excess:
            ids.pop(old, None)
        return excess

    async def remove(self, user_id: int, sid: str) -> None:
        ids = self.by_user.get(user_id)
        if ids is not None:
            ids.pop(sid, None)
            if not ids:
                self.by_user.pop(user_id, None)

    async def beat(self) -> None:
        return None


class RedisSockets:
    """Per-user sorted sets (socket id → connect time in ms) shared by every API process."""

    def __init__(self, bus: RedisBus, node: str, limit: int, node_ttl: float) -> None:
        self.redis, self.prefix, self.node, self.limit = bus.redis, bus.prefix, node, limit
        self.node_ttl = max(int(node_ttl), 5)

    def _user(self, user_id: int) -> str:
        return f"{self.prefix}ws:u:{user_id}"

    def _node(self, node: str) -> str:
        return f"{self.prefix}ws:node:{node}"

    async def beat(self) -> None:
        await self.redis.set(self._node(self.node), b"1", ex=self.node_ttl)

    async def add(self, user_id: int, sid: str) -> list[str]:
        key = self._user(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {sid: int(time.time() * 1000)})
            pipe.expire(key, REGISTRY_TTL_SECONDS)
            pipe.zrange(key, 0, -1)
            members = [m.decode() if isinstance(m, bytes) else m for m in (await pipe.execute())[2]]
        others = sorted({m.split("|", 1)[0] for m in members} - {self.node})
        alive = {self.node}
        if others:
            alive |= {n for n, v in zip(others, await self.redis.mget([self._node(n) for n in others]), strict=True) if v}
        dead = [m for m in members if m.split("|", 1)[0] not in alive]
        live = [m for m in members if m not in dead]
        excess = live[: max(len(live) - self.limit, 0)]
        if dead or excess:
            await self.redis.zrem(key, *dead, *excess)
        return excess

    async def remove(self, user_id: int, sid: str) -> None:
        await self.redis.zrem(self._user(user_id), sid)


# ------------------------------------------------------------------------------------------------ the hub


class Hub:
    """One per API process: the bus subscription, the local sockets by user, the heartbeat."""

    def __init__(self, bus: Bus, settings: Settings) -> None:
        self.bus, self.settings = bus, settings
        host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40]
        self.node = f"{host}-{os.getpid()}-{secrets.token_hex(3)}"
        self.conns: dict[int, dict[str, Conn]] = {}
        limit = settings.ws_max_sockets_per_user
        self.sockets: LocalSockets | RedisSockets = (
            RedisSockets(bus, self.node, limit, settings.ws_ping_seconds * 3 + 5) if isinstance(bus, RedisBus)
            else LocalSockets(limit)
        )
        self.subscribed = asyncio.Event()
        self._seq = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []

    def new_sid(self) -> str:
        return f"{self.node}|{next(self._seq)}"

    def all_conns(self) -> list[Conn]:
        return [c for by_sid in self.conns.values() for c in by_sid.values()]

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self.sockets.beat()
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._heartbeat())]
        with contextlib.suppress(TimeoutError):  # sockets catch up from the database anyway once it is up
            await asyncio.wait_for(self.subscribed.wait(), timeout=3)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self.all_conns():
            conn.close(1001, "服务器重启，请重新连接")

    # ----------------------------------------------------------------------------------- sockets

    async def add(self, conn: Conn) -> None:
        """Register a socket; close the user's oldest sockets beyond the limit, wherever they are."""
        self.conns.setdefault(conn.user_id, {})[conn.sid] = conn
        try:
            excess = await self.sockets.add(conn.user_id, conn.sid)
        except Exception:  # Redis away: enforce the limit among this process's sockets until it is back
            log.warning("socket registry unavailable; limiting sockets per process only", exc_info=True)
            local = list(self.conns[conn.user_id])
            excess = local[: max(len(local) - self.settings.ws_max_sockets_per_user, 0)]
        mine = self.conns.get(conn.user_id, {})
        remote = [sid for sid in excess if sid not in mine]
        for sid in excess:
            if sid in mine:
                mine[sid].close(4409, "同一账号最多 5 个连接，已关闭最早的连接")
        if remote:
            with contextlib.suppress(Exception):
                await self.bus.publish(channel(conn.user_id), json.dumps({"type": "_close", "sids": remote}))

    async def remove(self, conn: Conn) -> None:
        mine = self.conns.get(conn.user_id)
        if mine is not None and mine.get(conn.sid) is conn:
            del mine[conn.sid]
            if not mine:
                del self.conns[conn.user_id]
        with contextlib.suppress(Exception):
            await self.sockets.remove(conn.user_id, conn.sid)

    # ----------------------------------------------------------------------------------- the subscription

    def dispatch(self, name: str, data: bytes) -> None:
        try:
            user_id = int(name[len(CHANNEL):])
        except ValueError:
            return
        mine = self.conns.get(user_id)
        if not mine:
            return
        text = data.decode()
        try:
            message = json.loads(text)
            if message.get("type") == "_close":
                for sid in message.get("sids") or []:
                    if sid in mine:
                        mine[sid].close(4409, "同一账号最多 5 个连接，已关闭最早的连接")
                return
            hint = (int(message["item"]["id"]), message.get("prev"), text)
        except (ValueError, KeyError, TypeError):
            log.warning("dropping a malformed hint on %s", name)
            return
        for conn in list(mine.values()):
            conn.offer_hint(*hint)

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                sub = await self.bus.subscribe(PATTERN)
                try:
                    self.subscribed.set()
                    delay = 0.2
                    for conn in self.all_conns():  # hints published while we were not listening
                        conn.catch_up_soon()
                    async for name, data in sub:
                        self.dispatch(name, data)
                finally:
                    self.subscribed.clear()
                    await sub.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("notification subscription lost; retrying in %.1fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _heartbeat(self) -> None:
        """One period of ``ws_ping_seconds`` is cut into HEARTBEAT_SLICES ticks, and each tick beats only its
        share of the sockets: pinging thousands of sockets (and reading back their pongs) in one go stalls the
        process for a moment and shows up as late pushes for everybody on it."""
        tick = 0
        while True:
            await asyncio.sleep(self.settings.ws_ping_seconds / HEARTBEAT_SLICES)
            try:
                await self.beat_slice(tick % HEARTBEAT_SLICES, HEARTBEAT_SLICES)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("socket heartbeat failed", exc_info=True)
            tick += 1

    async def beat_once(self) -> None:
        """Beat every socket now (one whole period at once)."""
        await self.beat_slice(0, 1)

    async def beat_slice(self, index: int, count: int) -> None:
        """Ping the sockets of share ``index`` of ``count``, closing silent or expired ones and those whose
        session ended; the process's liveness key is refreshed once per period (with share 0)."""
        if index == 0:
            with contextlib.suppress(Exception):
                await self.sockets.beat()
        conns = [c for c in self.all_conns() if count == 1 or zlib.crc32(c.sid.encode()) % count == index]
        now, wall = time.monotonic(), time.time()
        for conn in conns:
            if now - conn.last_seen > self.settings.ws_dead_after_seconds:
                conn.close(4408, "心跳超时")
            elif conn.expires_at <= wall:
                conn.close(4401, "登录已过期，请重新连接")
            else:
                conn.ping()
        ended = await repository.ended_sessions({c.session_id for c in conns if not c.closed})
        for conn in conns:
            if conn.session_id in ended:
                conn.close(4401, "已退出登录")


_lock = asyncio.Lock()


async def hub_of(app) -> Hub:  # type: ignore[no-untyped-def]
    """The process's hub for this app, started on first use (and stopped by the app's shutdown hooks)."""
    hub = getattr(app.state, "notification_hub", None)
    if hub is not None:
        return hub
    async with _lock:
        hub = getattr(app.state, "notification_hub", None)
        if hub is None:
            hub = Hub(app.state.bus, app.state.settings)
            await hub.start()
            app.state.notification_hub = hub
            hooks = getattr(app.state, "shutdown_hooks", None)
            if hooks is None:
                hooks = app.state.shutdown_hooks = []
            hooks.append(hub.stop)
    return hub
