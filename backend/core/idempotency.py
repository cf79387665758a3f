"""``Idempotency-Key`` on POST: a retried request gets the stored answer instead of running twice.

- same owner + key + body  → the stored status and body (header ``Idempotent-Replayed: true``);
- same key, different body → 422 ``IdempotencyKeyReused``;
- first attempt still running → 409 ``RequestInFlight`` (its lock lapses after ``idempotency_lock_seconds``
  so a crashed attempt does not block the key for ever).

Keys are scoped per user (from the bearer token), or per client address for anonymous calls. Only answers that
would not change on a retry are stored: 2xx, and 400/413/415/422. Anything else (401 after an expired token,
a 409 race, a 5xx) frees the key so the client can try again. The stored answer is written before it is sent,
so a client that sees a 2xx will always get the same 2xx back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.config import Settings
from backend.core import security, sql
from backend.core.errors import AppError, BadRequest, PayloadTooLarge, RequestInFlight, ValidationFailed
from backend.core.timeutil import utcnow
from backend.models.idempotency import IdempotencyRecord

log = logging.getLogger(__name__)

STORED_ERRORS = {400, 413, 415, 422}
MAX_BODY = 12 * 1024 * 1024
# The mini-program sends a key with every POST, so claiming a key and storing its answer are constant SQL
# (backend/core/sql.py): through the ORM they cost more than the request they guard.
_CLAIM = (
    "INSERT INTO idempotency_record (owner, key, method, path, request_hash, in_flight, locked_until, created_at,"
    " expires_at) VALUES ($1, $2, 'POST', $3, $4, TRUE, $5, $6, $7) ON CONFLICT (owner, key) DO NOTHING RETURNING id"
)
_STORE = (
    "UPDATE idempotency_record SET in_flight = FALSE, status_code = $1, response_body = $2, content_type = $3"
    " WHERE id = $4"
)
_FREE = "DELETE FROM idempotency_record WHERE id = $1"
_FIND = "SELECT * FROM idempotency_record WHERE owner = $1 AND key = $2"


class IdempotencyKeyReused(ValidationFailed):
    message = "同一个 Idempotency-Key 已用于内容不同的请求"


class BadIdempotencyKey(BadRequest):
    message = "Idempotency-Key 应为 1–128 个可见字符"


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _owner(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            try:
                claims = security.decode(self.settings, auth[7:].strip(), typ=security.ACCESS)
                return f"user:{claims.user_id}"
            except AppError:
                pass
        client = scope.get("client") or ("?", 0)
        return f"anon:{client[0]}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        # ASGI servers hand header names over in lower case; most POSTs carry no key, so look before copying.
        if not any(name == b"idempotency-key" for name, _ in scope.get("headers") or ()):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        raw_key = headers[b"idempotency-key"]
        key = raw_key.decode("latin-1").strip()
        if not (1 <= len(key) <= 128) or not key.isprintable():
            await _send_error(send, BadIdempotencyKey())
            return

        body, more = bytearray(), True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send_error(send, PayloadTooLarge())
                return

        owner = self._owner(scope, headers)
        path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
        digest = hashlib.sha256(b"%s\n%s\n" % (path.encode(), headers.get(b"content-type", b"")) + bytes(body))
        request_hash = digest.hexdigest()

        record_id, replay = await self._begin(owner, key, path, request_hash)
        if replay is not None:
            await replay(send)
            return

        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await sql.execute(_FREE, record_id)
            raise
        await self._finish(record_id, captured)
        for message in captured:
            await send(message)

    async def _begin(self, owner: str, key: str, path: str, request_hash: str):  # type: ignore[no-untyped-def]
        """Create the in-flight record, or decide what to answer instead (returns (record id, replay))."""
        now = utcnow()
        lock_until = now + timedelta(seconds=self.settings.idempotency_lock_seconds)
        claimed = await sql.fetch(
            _CLAIM, owner, key, path[:300], request_hash, lock_until, now,
            now + timedelta(seconds=self.settings.idempotency_ttl_seconds),
        )
        if claimed:
            return claimed[0]["id"], None
        found = await sql.fetch(_FIND, owner, key)
        record = IdempotencyRecord._init_from_db(**found[0]) if found else None
        if record is None:  # pruned between our insert and this read: treat as a conflict, the client retries
            return None, _error_sender(RequestInFlight())
        if record.request_hash != request_hash:
            return None, _error_sender(IdempotencyKeyReused(detail={"key": key}))
        if not record.in_flight:
            return None, _stored_sender(record)
        if record.locked_until > now:
            return None, _error_sender(RequestInFlight())
        # The first attempt's lock lapsed (its process died): take the key over, unless someone else just did.
        taken = await IdempotencyRecord.filter(id=record.id, in_flight=True, locked_until=record.locked_until).update(
            locked_until=lock_until
        )
        if not taken:
            return None, _error_sender(RequestInFlight())
        return record.id, None

    async def _finish(self, record_id: int, captured: list[Message]) -> None:
        start = next((m for m in captured if m["type"] == "http.response.start"), None)
        status = start["status"] if start else 500
        if status < 300 or status in STORED_ERRORS:
            content_type = next(
                (v.decode("latin-1") for k, v in start.get("headers", []) if k.lower() == b"content-type"), None
            ) if start else None
            payload = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
            await sql.execute(_STORE, status, payload, content_type, record_id)
        else:
            await sql.execute(_FREE, record_id)


def _error_sender(error: AppError):  # type: ignore[no-untyped-def]
    async def send_it(send: Send) -> None:
        await _send_error(send, error)

    return send_it


def _stored_sender(record: IdempotencyRecord):  # type: ignore[no-untyped-def]
    async def send_it(send: Send) -> None:
        headers = [(b"idempotent-replayed", b"true")]
        if record.content_type:
            headers.append((b"content-type", record.content_type.encode("latin-1")))
        body = bytes(record.response_body or b"")
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": record.status_code or 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return send_it


async def _send_error(send: Send, error: AppError) -> None:
    body = json.dumps(error.body(), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
