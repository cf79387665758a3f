"""Request context (id, access log, metrics) as a pure ASGI middleware: cheaper than BaseHTTPMiddleware on
every request, and it sees WebSocket handshakes too."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.handlers import is_transient, unavailable
from backend.core.logging import request_id_var

log = logging.getLogger("jinlin.access")

REQUESTS = Counter("jinlin_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "jinlin_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_VALID_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}
# Request ids: a random per-process prefix and a counter (16 hex characters). Unique across processes in
# practice and cheaper than drawing 8 bytes from the OS on every request.
_RID_PREFIX = secrets.token_hex(4)
_rid_counter = itertools.count(1)
# The metric children per (method, route, status): ``labels()`` takes a lock and builds tuples on each call.
_series: dict[tuple[str, str, int], tuple[object, object]] = {}


def _new_request_id() -> str:
    return f"{_RID_PREFIX}{next(_rid_counter) & 0xFFFFFFFF:08x}"


def _incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _VALID_RID.match(incoming) else None
    return None


def _observe(method: str, template: str, status: int, elapsed: float) -> None:
    series = _series.get((method, template, status))
    if series is None:
        series = _series[(method, template, status)] = (
            REQUESTS.labels(method, template, str(status)),
            LATENCY.labels(method, template),
        )
    series[0].inc()  # type: ignore[attr-defined]
    series[1].observe(elapsed)  # type: ignore[attr-defined]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or _new_request_id()
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500  # until the response starts: a failure before it is a 500, or the 503 below
        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Our database or Redis away, full or busy, raised outside any route (the routes' own handlers
            # answer theirs): a 503 the client retries. Anything else goes on to the last-resort 500.
            if scope["type"] != "http" or started_response or not is_transient(exc):
                raise
            await unavailable(scope["method"], scope["path"], exc)(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if scope["type"] == "http":
                _observe(scope["method"], template, status, elapsed)
                if scope["path"] not in _QUIET and log.isEnabledFor(logging.INFO):
                    log.info(
                        "%s %s %s",
                        scope["method"],
                        scope["path"],
                        status,
                        extra={"status": status, "ms": round(elapsed * 1000, 1), "route": template},
                    )
            request_id_var.reset(token)


_OVERRIDABLE = {b"PATCH", b"PUT", b"DELETE"}


class MethodOverrideMiddleware:
    """``POST`` + ``X-HTTP-Method-Override: PATCH|PUT|DELETE`` is treated as that method.

    ``wx.request`` in the mini-program cannot send PATCH; the override lets it reach the same routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for key, value in scope.get("headers") or []:
                if key == b"x-http-method-override" and value.upper() in _OVERRIDABLE:  # ASGI: lower-case names
                    scope = {**scope, "method": value.upper().decode()}
                    break
        await self.app(scope, receive, send)
