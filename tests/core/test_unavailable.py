"""Our own infrastructure away, full or busy is a 503 with ``Retry-After`` in the one error shape, not a 500.

The mini-program retries 502/503/504 with the same idempotency key and never a 500
(miniapp/src/http/client.ts), so a resident's submission made while PostgreSQL restarts or runs out of
connections is sent again instead of being dropped."""

from __future__ import annotations

import sqlite3
import uuid

import asyncpg
import httpx
import pytest
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from backend.core import security
from backend.core.handlers import is_transient
from backend.models.user import Role
from bench.harness import Server, free_port
from tests.builders import auth_headers, make_org_tree, make_user
from tests.conftest import TEST_SECRET

PREFERENCES = "/api/v1/ledger/me/preferences"


def _assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["error"] == "ServiceUnavailable"
    assert body["message"] == "系统繁忙，请稍后再试"
    assert resp.headers["retry-after"] == "2"


@pytest.fixture
def server_without_database():  # type: ignore[no-untyped-def]
    """A real server whose PostgreSQL is not there (nothing listens on the port): as during a restart."""
    env = {"JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET,
           "JINLIN_DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/jinlin_nowhere",
           "JINLIN_WORKER_IN_PROCESS": "false", "JINLIN_LOG_LEVEL": "WARNING", "JINLIN_H5_DIR": "",
           "JINLIN_REDIS_URL": ""}
    running = Server("backend.main:app_factory", factory=True, env=env).wait()
    yield running
    running.stop()


@pytest.mark.live
async def test_a_server_whose_database_is_away_answers_503_with_retry_after(
    settings, server_without_database
):
    token = security.issue_access(settings, user_id=1, session_id=uuid.uuid4())
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server_without_database.url, timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200  # alive: the process itself is fine
        # the principal's lookup fails inside the route's dependency
        _assert_unavailable(await client.get("/api/v1/me", headers=auth))
        # the idempotency key's claim fails in a middleware, before any route
        _assert_unavailable(await client.post(
            "/api/v1/ledger/me/redemptions", headers={**auth, "Idempotency-Key": "k-1"},
            json={"store_id": 1, "points": 5, "idempotency_key": "r-1"},
        ))
        # a sign-in, with no token at all
        _assert_unavailable(await client.post("/api/v1/auth/login",
                                              json={"phone": "13800000000", "password": "secret-123"}))
        # the keep-alive connection survived every 503: the next request on it is answered
        assert (await client.get("/healthz")).status_code == 200


async def test_a_locked_sqlite_database_answers_503_and_the_write_can_be_sent_again(
    database, settings, client
):
    """SQLite (``make run``): another writer holding the file past the busy timeout is a moment's wait."""
    if database.kind != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL waits for row locks instead")
    tree = await make_org_tree(communities=1, grids=1, households=1)
    user = await make_user(Role.RESIDENT, tree.community(0), name="居民甲")
    headers = await auth_headers(settings, user)
    path = database.url.removeprefix("sqlite://").split("?")[0]
    holder = sqlite3.connect(path, timeout=0.1)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        hidden = {"show_on_leaderboard": False}
        _assert_unavailable(await client.put(PREFERENCES, headers=headers, json=hidden))
    finally:
        holder.rollback()
        holder.close()
    again = await client.put(PREFERENCES, headers=headers, json={"show_on_leaderboard": False})
    assert again.status_code == 200, again.text
    assert again.json()["show_on_leaderboard"] is False


@pytest.mark.parametrize("exc", [
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    asyncpg.SerializationError("could not serialize access"),
    asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    ConnectionRefusedError(111, "Connect call failed"),
    TimeoutError(),
    DBConnectionError("Can't establish connection to database jinlin"),
    OperationalError(sqlite3.OperationalError("database is locked")),
], ids=lambda e: type(e).__name__)
def test_what_counts_as_infrastructure_away(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    IntegrityError("duplicate key value violates unique constraint"),
    OperationalError(asyncpg.UndefinedColumnError('column "x" does not exist')),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.CheckViolationError('new row violates check constraint "balance_floor"'),
    sqlite3.OperationalError("no such table: ledger_entry"),
    ValueError("a bug"),
], ids=lambda e: type(e).__name__)
def test_a_bug_is_still_a_500_not_a_retry(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_the_wrapped_driver_error_is_found_through_the_chain() -> None:
    try:
        try:
            raise asyncpg.TooManyConnectionsError("sorry, too many clients already")
        except asyncpg.PostgresError as inner:
            raise RuntimeError("while saving") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def _app_raising(exc: Exception, *, in_middleware: bool):  # type: ignore[no-untyped-def]
    """A bare app with our handlers and request context, raising ``exc`` in a route or in a middleware."""
    from fastapi import FastAPI

    from backend.core.handlers import install_error_handlers
    from backend.core.middleware import RequestContextMiddleware

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    if in_middleware:
        async def failing(scope, receive, send):  # type: ignore[no-untyped-def]
            raise exc

        return RequestContextMiddleware(failing)
    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.mark.parametrize("in_middleware", [False, True], ids=["route", "middleware"])
async def test_a_bug_answers_500_and_the_database_away_503_wherever_raised(in_middleware: bool) -> None:
    for exc, status in ((ValueError("a bug"), 500), (asyncpg.TooManyConnectionsError("too many"), 503)):
        transport = httpx.ASGITransport(app=_app_raising(exc, in_middleware=in_middleware),
                                        raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/boom")
        if in_middleware and status == 500:
            assert resp.status_code == 500  # the bare middleware re-raises; the server answers a bare 500
            continue
        assert resp.status_code == status, resp.text
        assert resp.json()["error"] == ("AppError" if status == 500 else "ServiceUnavailable")
        if status == 503:  # answered inside the request context: the id the log lines carry
            assert "x-request-id" in resp.headers and resp.headers["retry-after"] == "2"
