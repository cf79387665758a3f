"""Render every failure in the one error shape, with a Chinese message and no stack trace."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from backend.core.errors import AppError, Conflict, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限进行此操作",
    404: "找不到该内容",
    405: "不支持该请求方法",
    406: "无法提供所请求的格式",
    413: "上传的内容过大",
    415: "不支持的内容类型",
    429: "操作过于频繁，请稍后再试",
}
_HTTP_NAMES = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized", 403: "Forbidden"}

# Pydantic error types in plain Chinese; the field path tells which field.
_VALIDATION_MESSAGES = {
    "missing": "必填",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是/否",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "string_pattern_mismatch": "格式不正确",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "格式不正确",
    "list_type": "应为列表",
    "too_long": "条目太多",
    "too_short": "条目太少",
    "datetime_parsing": "时间格式不正确",
    "date_parsing": "日期格式不正确",
    "uuid_parsing": "格式不正确",
    "extra_forbidden": "不允许的字段",
    "value_error": "取值不正确",
}


# Failures that say nothing about the request: retried in a moment, the same request may well succeed.
_TRANSIENT: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08: refused, lost mid-query, closed under us
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full, out of memory
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up, statement timeout
    asyncpg.TransactionRollbackError,  # class 40: deadlock, serialization failure
    asyncpg.exceptions.LockNotAvailableError,  # 55P03: lock_timeout
    DBConnectionError,  # Tortoise could not open its pool
    ConnectionError,  # refused or reset before any protocol (PostgreSQL or Redis down)
    TimeoutError,  # connecting, or a pool that did not hand out a connection in time
)
_SQLITE_BUSY = ("database is locked", "database table is locked")

try:  # redis-py's own errors do not derive from the built-in ones
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    _TRANSIENT += (_RedisConnectionError, _RedisTimeoutError)
except ImportError:  # pragma: no cover - redis is a dependency; the embedded shape just never raises these
    pass


def is_transient(exc: BaseException) -> bool:
    """Is ``exc`` (or what it wraps: Tortoise re-raises the driver's error) our own infrastructure being away,
    full or busy rather than anything about the request? Those are answered 503 with ``Retry-After``."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, _TRANSIENT):
            return True
        if isinstance(seen, (sqlite3.OperationalError, OperationalError)) and any(
            busy in str(seen) for busy in _SQLITE_BUSY
        ):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unavailable(method: str, path: str, exc: BaseException) -> JSONResponse:
    """The 503 for a transient ``exc`` (logged as a warning, without the traceback: nothing here is a bug)."""
    log.warning("service unavailable on %s %s: %s: %s", method, path, type(exc).__name__, exc)
    error = ServiceUnavailable()
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def _loc(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in parts)


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        kind = err.get("type", "value_error")
        ctx = err.get("ctx") or {}
        message = _VALIDATION_MESSAGES.get(kind, "取值不正确")
        if kind == "value_error" and isinstance(ctx.get("error"), Exception):
            message = str(ctx["error"])  # our own validators raise Chinese messages
        out.append({"loc": _loc(tuple(err.get("loc", ()))), "type": kind, "message": message})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = validation_detail(list(exc.errors()))
        first = detail[0] if detail else None
        message = f"{ValidationFailed.message}：{first['loc']} {first['message']}" if first else None
        return JSONResponse(ValidationFailed(message, detail=detail).body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        message = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        body = {
            "error": _HTTP_NAMES.get(status, "HTTPError"),
            "message": message or _HTTP_MESSAGES.get(status, "请求无法处理"),
            "detail": None,
        }
        return JSONResponse(body, status_code=status, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services translate the constraints they expect; this is the safety net for the rest.
        log.warning("unhandled integrity error: %s", exc)
        return JSONResponse(Conflict("数据与已有记录冲突，请刷新后重试").body(), status_code=409)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            return unavailable(request.method, request.url.path, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(AppError().body(), status_code=500)

    # The last resort (``Exception``) answers and then re-raises to the server, which logs a traceback and
    # drops the client's keep-alive connection. So the classes that may be transient are answered where they
    # are raised: inside a route, by these handlers; in a middleware (the idempotency key's claim), by
    # RequestContextMiddleware.
    for maybe in (*_TRANSIENT, OperationalError, sqlite3.OperationalError, asyncpg.InterfaceError, Exception):
        app.add_exception_handler(maybe, _unexpected)  # type: ignore[arg-type]
