"""``/api/v1/ws``: a hint channel for the inbox (the database stays the truth).

Protocol (JSON text frames):
- authenticate with the access token in ``Sec-WebSocket-Protocol`` (subprotocols ``["jinlin.v1",
  "bearer.<token>"]``; the server answers ``jinlin.v1``) or as the first message ``{"type": "auth", "token": …}``.
  A token in the URL is refused (URLs end up in logs);
- the server says ``{"type": "hello", …}``; the client sends ``{"type": "resume", "after": <last inbox id it
  has, or null for "from now">}`` and receives every item after it, oldest first, then ``{"type": "resumed"}``
  and live items as they come: ``{"type": "item", "item": {…}, "prev": …, "t": …}``. Exactly what it missed,
  in order, no duplicates: each socket remembers the last id it sent, drops hints at or below it, sends a hint
  straight away when its ``prev`` is that id, and otherwise (a gap: a hint lost or overtaken) reads the missing
  items from the database first. It only ever sends ids at or below the inbox horizon (docs/adr/0020), so no
  item it has not sent can later appear below one it has. One task per socket does all of this, so replay and
  live hints never race;
- heartbeat: ``{"type": "ping"}`` every ``ws_ping_seconds``; any client frame (``{"type": "pong"}``) counts as
  alive; a socket silent for ``ws_dead_after_seconds`` is closed (4408). Before the access token expires the
  client may send a fresh ``{"type": "auth", "token": …}``; otherwise the socket closes (4401) and the client
  reconnects and resumes;
- close codes: 4400 bad request, 4401 not (or no longer) authenticated, 4408 heartbeat timeout, 4409 closed
  because the same user opened a sixth socket, 4413 too far behind (reconnect and resume), 1001 restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.config import Settings
from backend.core import security
from backend.core.errors import AppError
from backend.notifications import hotpath, repository
from backend.notifications.fanout import Hub, frame, hub_of

log = logging.getLogger(__name__)

PROTOCOL = "jinlin.v1"
BEARER = "bearer."
AUTH_TIMEOUT_SECONDS = 10.0
PAGE = 200  # items per replay query
REPLAY_LIMIT = 1000  # beyond this the client is told to reload the list over HTTP
MAX_PENDING = 2000  # frames queued for one socket before it counts as stuck
MAX_CLIENT_FRAME = 8192


def _frame(**body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


PING = _frame(type="ping")
PONG = _frame(type="pong")
CATCH_UP = object()
_closing: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class Identity:
    user_id: int
    session_id: str
    expires_at: float  # epoch seconds


@dataclass(frozen=True)
class Resume:
    after: int | None


@dataclass(frozen=True)
class Hint:
    id: int
    prev: int | None
    text: str


async def authenticate(settings: Settings, token: Any) -> Identity | None:
    """The identity behind an access token, if the token verifies and its session is still live."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    try:
        claims = security.decode(settings, token, typ=security.ACCESS)
    except AppError:
        return None
    if not await repository.session_alive(claims.session_id, claims.user_id):
        return None
    return Identity(claims.user_id, str(claims.session_id), claims.expires_at.timestamp())


class Conn:
    """One authenticated socket: a queue of things to send and the one task that sends them in order."""

    def __init__(self, websocket: WebSocket, hub: Hub, identity: Identity) -> None:
        self.ws, self.hub = websocket, hub
        self.sid = hub.new_sid()
        self.user_id, self.session_id, self.expires_at = identity.user_id, identity.session_id, identity.expires_at
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.last_sent: int | None = None  # None until the client resumes
        self.last_seen = time.monotonic()
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self._later: asyncio.TimerHandle | None = None  # a catch-up scheduled while the horizon lags
        self._pause = 0.0

    # ----------------------------------------------------------------------------------- from the hub

    def _offer(self, message: Any) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self.close(4413, "消息积压过多，请重新连接")
            return
        self.queue.put_nowait(message)

    def offer_hint(self, item_id: int, prev: int | None, text: str) -> None:
        self._offer(Hint(item_id, prev, text))

    def catch_up_soon(self) -> None:
        self._offer(CATCH_UP)

    def ping(self) -> None:
        self._offer(PING)

    def send_soon(self, text: str) -> None:
        self._offer(text)

    def resume(self, after: int | None) -> None:
        self._offer(Resume(after))

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self._later is not None:
            self._later.cancel()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        task = asyncio.create_task(self._close(code, reason))
        _closing.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(_closing.discard)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason)

    # ----------------------------------------------------------------------------------- the sender

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                await self._handle(await self.queue.get())
        except asyncio.CancelledError:
            pass
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:  # the client went away mid-send
            log.info("socket %s sender stopped: %r", self.sid, exc)
            self.close(1011, "连接已断开")
        except Exception:  # the database went away: the client reconnects and resumes from its cursor
            log.warning("socket %s sender failed", self.sid, exc_info=True)
            self.close(1011, "服务器暂时无法推送，请重新连接")

    async def _handle(self, message: Any) -> None:
        if isinstance(message, Hint):
            if self.last_sent is None or message.id <= self.last_sent:
                return  # not resumed yet (the replay will include it) or already sent
            if (message.prev or 0) == self.last_sent:
                await self.ws.send_text(message.text)
                self.last_sent = message.id
            else:  # a gap: its publisher proved every id up to this one final, so read the gap up to it
                await self._catch_up(upto=message.id)
        elif isinstance(message, Resume):
            if self.last_sent is not None:
                await self.ws.send_text(_frame(type="error", error="AlreadyResumed", message="已经恢复过了"))
                return
            if message.after is None:  # "from now": the newest item that can no longer be overtaken
                self.last_sent = await repository.latest_item_id(self.user_id, upto=await hotpath.horizon())
            else:
                self.last_sent = message.after
            await self._catch_up()
            await self.ws.send_text(_frame(type="resumed", last=self.last_sent))
        elif message is CATCH_UP:
            self._later = None
            if self.last_sent is not None:
                await self._catch_up()
        else:
            await self.ws.send_text(message)

    async def _catch_up(self, *, upto: int | None = None) -> None:
        """Send the user's items after the last one sent, oldest first, up to ``upto`` (a hint's id) or else up to
        the inbox horizon (docs/adr/0020). Items already committed above the horizon are looked at again shortly:
        an older writer is still open, and until it ends one of its ids could still land below them."""
        assert self.last_sent is not None
        bound = upto if upto is not None else await hotpath.horizon()
        sent = 0
        while True:
            rows = await repository.items_after(self.user_id, self.last_sent, PAGE, upto=bound)
            for row in rows:
                await self.ws.send_text(frame(row, self.last_sent or None))
                self.last_sent = row.id
            sent += len(rows)
            if len(rows) < PAGE:
                break
            if sent >= REPLAY_LIMIT:
                self.last_sent = await repository.latest_item_id(self.user_id, upto=await hotpath.horizon())
                await self.ws.send_text(_frame(type="overflow", latest=self.last_sent,
                                               message="未读通知太多，请刷新通知列表"))
                return
        if upto is None and bound is not None and await repository.latest_item_id(self.user_id) > self.last_sent:
            self._look_again()
        elif upto is None:
            self._pause = 0.0

    def _look_again(self) -> None:
        if self._later is not None or self.closed:
            return
        self._pause = min(max(self._pause * 2, 0.005), 1.0)
        self._later = asyncio.get_running_loop().call_later(self._pause, self.catch_up_soon)


# --------------------------------------------------------------------------------------------------- endpoint


async def _first_message(websocket: WebSocket) -> dict[str, Any] | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        return None
    return _parse(message)


def _parse(message: dict[str, Any]) -> dict[str, Any] | None:
    text = message.get("text")
    if text is None or len(text) > MAX_CLIENT_FRAME:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _after(body: dict[str, Any]) -> tuple[bool, int | None]:
    after = body.get("after")
    if after is None or (isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= 2**62):
        return True, after
    return False, None


async def serve(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    offered = list(websocket.scope.get("subprotocols") or [])
    await websocket.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
    if {"token", "access_token"} & set(websocket.query_params):
        await websocket.close(code=4400, reason="不要把登录凭证放在网址里")
        return
    token = next((p[len(BEARER):] for p in offered if p.startswith(BEARER)), None)
    first: dict[str, Any] = {}
    if token is None:
        first = await _first_message(websocket) or {}
        if first.get("type") != "auth":
            await websocket.close(code=4401, reason="请先登录")
            return
        token = first.get("token")
    identity = await authenticate(settings, token)
    if identity is None:
        await websocket.close(code=4401, reason="登录已失效，请重新登录")
        return
    hub = await hub_of(websocket.app)
    conn = Conn(websocket, hub, identity)
    await websocket.send_text(_frame(type="hello", user_id=identity.user_id, ping_seconds=settings.ws_ping_seconds))
    conn.start()
    await hub.add(conn)
    try:
        if "after" in first:
            ok, after = _after(first)
            conn.resume(after) if ok else conn.send_soon(_bad("after 应为通知 id 或 null"))
        await _receive(websocket, conn, settings)
    finally:
        conn.close(1000, "")
        await hub.remove(conn)


def _bad(message: str) -> str:
    return _frame(type="error", error="BadMessage", message=message)


async def _receive(websocket: WebSocket, conn: Conn, settings: Settings) -> None:
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        conn.last_seen = time.monotonic()
        body = _parse(message)
        kind = body.get("type") if body else None
        if kind == "pong":
            continue
        if kind == "ping":
            conn.send_soon(PONG)
        elif kind == "resume":
            ok, after = _after(body or {})
            conn.resume(after) if ok else conn.send_soon(_bad("after 应为通知 id 或 null"))
        elif kind == "auth":
            identity = await authenticate(settings, (body or {}).get("token"))
            if identity is None or identity.user_id != conn.user_id:
                conn.close(4401, "登录已失效，请重新登录")
                return
            conn.session_id, conn.expires_at = identity.session_id, identity.expires_at
            conn.send_soon(_frame(type="auth_ok"))
        else:
            conn.send_soon(_bad("无法识别的消息"))
