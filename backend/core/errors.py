"""The one error tree, rendered in one JSON shape.

Every error a client can see is an ``AppError`` and reaches it as::

    {"error": "<ClassName>", "message": "<中文说明>", "detail": <object or null>}

    AppError                      500  (never raised directly for client mistakes)
    ├── BadRequest                400
    │   └── ValidationFailed      422  (field paths in ``detail``)
    ├── Unauthorized              401
    │   ├── InvalidToken          401
    │   └── InvalidCredentials    401
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── Conflict                  409
    │   ├── InvalidTransition     409
    │   ├── AlreadyExists         409
    │   └── RequestInFlight       409  (idempotency key still being processed)
    ├── PayloadTooLarge           413
    ├── UnsupportedMediaType      415
    ├── Locked                    423
    ├── TooManyRequests           429
    ├── UpstreamError             502 / 503  (WeChat and other services we call)
    └── ServiceUnavailable        503  (our own database or Redis away, full or restarting; ``Retry-After``)

Domains subclass these (``TaskAlreadyClaimed(Conflict)``, ``InsufficientBalance(Conflict)``) so the class name
tells the client what happened and the base tells it the status.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The JSON shape of every error response."""

    error: str
    message: str
    detail: Any = None


class AppError(Exception):
    status_code: int = 500
    message: str = "服务器内部错误，请稍后再试"

    def __init__(self, message: str | None = None, *, detail: Any = None, status_code: int | None = None):
        self.message = message or self.message
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.message)

    @property
    def name(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        return {"error": self.name, "message": self.message, "detail": self.detail}


class BadRequest(AppError):
    status_code = 400
    message = "请求有误"


class ValidationFailed(BadRequest):
    status_code = 422
    message = "提交的内容不符合要求"


class Unauthorized(AppError):
    status_code = 401
    message = "请先登录"


class InvalidToken(Unauthorized):
    message = "登录已失效，请重新登录"


class InvalidCredentials(Unauthorized):
    message = "手机号或密码不正确"


class Forbidden(AppError):
    status_code = 403
    message = "没有权限进行此操作"


class NotFound(AppError):
    status_code = 404
    message = "找不到该内容"


class Conflict(AppError):
    status_code = 409
    message = "操作与当前状态冲突"


class InvalidTransition(Conflict):
    message = "当前状态下不能进行此操作"


class AlreadyExists(Conflict):
    message = "该内容已存在"


class RequestInFlight(Conflict):
    message = "相同的请求正在处理中，请稍候"


class PayloadTooLarge(AppError):
    status_code = 413
    message = "上传的内容过大"


class UnsupportedMediaType(AppError):
    status_code = 415
    message = "不支持的文件类型"


class Locked(AppError):
    status_code = 423
    message = "账号已被临时锁定"


class TooManyRequests(AppError):
    status_code = 429
    message = "操作过于频繁，请稍后再试"


class UpstreamError(AppError):
    status_code = 502
    message = "外部服务暂时不可用，请稍后再试"


class ServiceUnavailable(AppError):
    """A failure that says nothing about the request (backend/core/handlers.py ``is_transient``): the same
    request may well succeed in a moment, and the mini-program retries a 503 with the same idempotency key."""

    status_code = 503
    message = "系统繁忙，请稍后再试"
    headers = {"Retry-After": "2"}


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the errors a route can raise, so generated clients know them."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        entry = out.setdefault(err.status_code, {"model": ErrorBody, "description": ""})
        names = [n for n in entry["description"].split(" / ") if n]
        names.append(err.__name__)
        entry["description"] = " / ".join(names)
    return out
