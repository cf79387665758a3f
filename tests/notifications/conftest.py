"""Fixtures of the notifications tests: WeChat templates in the settings, a real uvicorn server in the test's
event loop for WebSocket clients, a socket client that speaks the /api/v1/ws protocol, subprocess helpers for
API and worker processes, and builders for WeChat users and their consents."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import backend.notifications.tasks  # noqa: F401 - registers the handlers the in-process workers run
from backend.config import Settings
from backend.core.bus import Bus
from backend.core.timeutil import utcnow
from backend.models.notifications import ConsentChoice, WechatConsent
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role, User, WechatAccount
from backend.notifications import runtime
from backend.outbox.worker import Worker
from tests.builders import make_user, tokens_for
from tests.conftest import REDIS_URL, TEST_SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ANNOUNCE_TEMPLATE = "tmpl-announce"
ALERT_TEMPLATE = "tmpl-alert"
TEMPLATES = {
    # truncates: any title fits
    "announcement": {"template_id": ANNOUNCE_TEMPLATE,
                     "data": {"thing1": "{title:.20}", "time2": "{time}", "thing3": "{unit_name:.20}"}},
    # does not truncate: a title over 20 characters breaks WeChat's thing rule
    "test.alert": {"template_id": ALERT_TEMPLATE, "data": {"thing1": "{title}", "phrase2": "{state}", "time3": "{time}"}},
}


@pytest.fixture
def nsettings(settings: Settings) -> Settings:
    return settings.model_copy(update={"wechat_templates": TEMPLATES})


@pytest.fixture(autouse=True)
def _notifications_runtime(nsettings: Settings):  # type: ignore[no-untyped-def]
    runtime.configure(nsettings)
    yield
    runtime.configure(None)


# ------------------------------------------------------------------------------------------------ builders


async def make_wechat_user(role: Role | None = Role.RESIDENT, unit=None, *, openid: str | None = None, **kw) -> User:  # type: ignore[no-untyped-def]
    user = await make_user(role, unit, **kw)
    await WechatAccount.create(user=user, appid="wx-test-appid", openid=openid or f"o-{user.id}", session_key="sk")
    return user


async def grant_consents(user: User, template_id: str, n: int = 1) -> None:
    for _ in range(n):
        await WechatConsent.create(user=user, template_id=template_id, choice=ConsentChoice.ACCEPT)


async def drain(settings: Settings, bus: Bus, rounds: int = 50) -> Worker:
    """Run due outbox events until none is left (skipping backoff waits), with a real Worker."""
    worker = Worker(settings, bus)
    for _ in range(rounds):
        await OutboxEvent.filter(status=OutboxStatus.PENDING).update(run_at=utcnow())
        if not await worker.run_due() and not await OutboxEvent.filter(status=OutboxStatus.PENDING).exists():
            break
    return worker


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


# ------------------------------------------------------------------------------------------------ sockets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WsServer:
    url: str
    app: Any


@contextlib.asynccontextmanager
async def serve_app(settings: Settings, bus: Bus) -> AsyncIterator[WsServer]:
    """The real app under a real uvicorn server, in this event loop (so it shares the test's ORM context)."""
    from backend.main import create_app

    app = create_app(settings, with_lifespan=False)
    app.state.bus = bus
    app.state.http = httpx.AsyncClient()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", ws_per_message_deflate=False))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # older uvicorn
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    try:
        yield WsServer(url=f"ws://127.0.0.1:{port}", app=app)
    finally:
        for hook in getattr(app.state, "shutdown_hooks", []):
            await hook()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)
        await app.state.http.aclose()


@pytest_asyncio.fixture
async def ws_server(nsettings: Settings, bus: Bus) -> AsyncIterator[WsServer]:
    fast = nsettings.model_copy(update={"ws_ping_seconds": 0.3, "ws_dead_after_seconds": 1.2})
    async with serve_app(fast, bus) as server:
        yield server


@dataclass
class WsClient:
    """A socket speaking the /api/v1/ws protocol; answers pings unless told not to; collects item frames."""

    conn: ClientConnection
    answer_pings: bool = True
    items: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> WsClient:
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.conn:
                message = json.loads(raw)
                self.frames.append(message)
                if message["type"] == "item":
                    self.items.append(message)
                elif message["type"] == "ping" and self.answer_pings:
                    await self.conn.send(json.dumps({"type": "pong"}))
                self._new.set()
        self._new.set()

    @property
    def ids(self) -> list[int]:
        return [m["item"]["id"] for m in self.items]

    async def send(self, **message: Any) -> None:
        await self.conn.send(json.dumps(message))

    async def resume(self, after: int | None) -> None:
        await self.send(type="resume", after=after)
        await self.until(lambda: any(f["type"] == "resumed" for f in self.frames), what="resumed")

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "frames") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what} not received in {timeout}s; got {self.frames[-5:]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=remaining)
            if self.closed and not predicate():
                raise AssertionError(f"socket closed ({self.close_code}) before {what}; got {self.frames[-5:]}")

    @property
    def closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    @property
    def close_code(self) -> int | None:
        return self.conn.close_code

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout=timeout)
        return self.conn.close_code

    async def close(self) -> None:
        await self.conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, timeout=5)


async def open_socket(
    url: str, token: str | None = None, *, via: str = "protocol", answer_pings: bool = True, path: str = "/api/v1/ws"
) -> WsClient:
    """Connect and authenticate (through ``Sec-WebSocket-Protocol`` or a first ``auth`` message)."""
    protocols = ["jinlin.v1"] + ([f"bearer.{token}"] if token and via == "protocol" else [])
    conn = await connect(url + path, subprotocols=protocols, proxy=None, compression=None, open_timeout=10)
    client = WsClient(conn, answer_pings=answer_pings)
    if token and via == "message":
        await client.conn.send(json.dumps({"type": "auth", "token": token}))
    client.start()
    if token:
        await client.until(lambda: any(f["type"] == "hello" for f in client.frames), what="hello")
    return client


async def access_token(settings: Settings, user: User) -> str:
    return (await tokens_for(settings, user)).access_token


# ------------------------------------------------------------------------------------------------ processes


def live_env(database_url: str, wechat_base: str, **extra: str) -> dict[str, str]:
    """The environment of API and worker subprocesses on the test database (and Redis, when the suite has it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINLIN_")}
    env.update({
        "JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET, "JINLIN_DATABASE_URL": database_url,
        "JINLIN_WECHAT_API_BASE": wechat_base, "JINLIN_WECHAT_APPID": "wx-test-appid",
        "JINLIN_WECHAT_SECRET": "wx-test-secret", "JINLIN_WECHAT_TEMPLATES": json.dumps(TEMPLATES),
        "JINLIN_LOG_LEVEL": "WARNING", "JINLIN_LOG_JSON": "false", "JINLIN_H5_DIR": "",
        "JINLIN_WORKER_IN_PROCESS": "false", "JINLIN_OUTBOX_POLL_SECONDS": "0.05",
        "JINLIN_OUTBOX_BACKOFF_BASE_SECONDS": "0.05", "JINLIN_DB_POOL_SIZE": "5",
    })
    if REDIS_URL:
        env["JINLIN_REDIS_URL"] = REDIS_URL
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen, *, kill: bool = False) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class ApiProcess:
    proc: subprocess.Popen  # type: ignore[type-arg]
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def start_api(env: dict[str, str]) -> ApiProcess:
    port = free_port()
    proc = spawn(["-m", "uvicorn", "backend.main:app_factory", "--factory", "--port", str(port),
                  "--log-level", "warning", "--no-access-log", "--ws-per-message-deflate", "false"], env)
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"API process exited: {proc.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)).status_code < 500:
                    return ApiProcess(proc, port)
            await asyncio.sleep(0.1)
    stop(proc, kill=True)
    raise RuntimeError("API process did not come up")
