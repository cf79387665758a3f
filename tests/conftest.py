"""Test set-up: a real database (PostgreSQL when JINLIN_TEST_DATABASE_URL is set, else SQLite), migrated once
with the committed migrations and emptied before each test; a real bus (Redis when JINLIN_TEST_REDIS_URL is set);
a fake WeChat server on a real port; the app driven through httpx's ASGI transport.

When the PostgreSQL or Redis URL is given but does not answer, the session stops with an error: CI sets them
precisely so that nothing silently falls back to SQLite.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext

from backend.auth import principals
from backend.config import Settings
from backend.core.bus import Bus, make_bus, set_bus
from backend.core.db import tortoise_config
from backend.core.migrate import apply_migrations
from tests.fakes.wechat import FakeWechat, serve_in_thread

PG_URL = os.environ.get("JINLIN_TEST_DATABASE_URL") or None
REDIS_URL = os.environ.get("JINLIN_TEST_REDIS_URL") or None
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_report_header(config: pytest.Config) -> str:
    return f"jinlin: database={'postgresql' if PG_URL else 'sqlite'} bus={'redis' if REDIS_URL else 'in-process'}"


@dataclass
class TestDatabase:
    url: str
    kind: str
    tables: list[str]


def make_settings(database_url: str, wechat_base: str, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    values = dict(
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=REDIS_URL,
        wechat_api_base=wechat_base,
        wechat_appid="wx-test-appid",
        wechat_secret="wx-test-secret",
        h5_dir=None,
        log_json=False,
        log_level="WARNING",
        worker_in_process=False,
        outbox_backoff_base_seconds=0.01,
        outbox_poll_seconds=0.05,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _create_pg_database() -> tuple[str, str]:
    import asyncpg

    assert PG_URL
    admin_url = PG_URL.replace("postgres://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"JINLIN_TEST_DATABASE_URL={PG_URL} is set but PostgreSQL does not answer: {exc!r}", returncode=3)
    name = f"jinlin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(PG_URL, name), name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    assert PG_URL
    conn = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def fake_wechat() -> FakeWechat:
    fake = FakeWechat()
    fake.base_url, fake.stop = serve_in_thread(fake)  # type: ignore[attr-defined]
    yield fake
    fake.stop()  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="session")
async def database(fake_wechat: FakeWechat) -> AsyncIterator[TestDatabase]:
    tmp = None
    if PG_URL:
        url, pg_name = await _create_pg_database()
        kind = "postgres"
    else:
        tmp = tempfile.TemporaryDirectory(prefix="jinlin-test-")
        url, pg_name, kind = f"sqlite://{tmp.name}/test.sqlite3", None, "sqlite"
    settings = make_settings(url, fake_wechat.base_url)  # type: ignore[attr-defined]
    await apply_migrations(settings)  # the committed migrations, exactly as production applies them
    ctx = TortoiseContext()
    await ctx.__aenter__()
    await ctx.init(config=tortoise_config(settings), _enable_global_fallback=True)
    tables = sorted(
        model._meta.db_table for app in (ctx.apps or {}).values() for model in app.values()  # type: ignore[union-attr]
    )
    try:
        yield TestDatabase(url=url, kind=kind, tables=tables)
    finally:
        await ctx.__aexit__(None, None, None)
        await Tortoise.close_connections()
        if pg_name:
            await _drop_pg_database(pg_name)
        if tmp is not None:
            tmp.cleanup()


async def empty_tables(db: TestDatabase) -> None:
    conn = connections.get("default")
    if db.kind == "postgres":
        quoted = ", ".join(f'"{t}"' for t in db.tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        # Append-only tables refuse DELETE with triggers (TRUNCATE skips PostgreSQL's row triggers): lift them
        # while emptying, then put them back.
        triggers = await conn.execute_query_dict("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        script = ["PRAGMA foreign_keys=OFF;"] + [f'DROP TRIGGER "{t["name"]}";' for t in triggers]
        script += [f'DELETE FROM "{t}";' for t in db.tables]
        script += ["DELETE FROM sqlite_sequence;", "PRAGMA foreign_keys=ON;"] + [t["sql"] + ";" for t in triggers]
        await conn.execute_script("\n".join(script))


@pytest_asyncio.fixture(scope="session")
async def bus() -> AsyncIterator[Bus]:
    prefix = f"jinlin-test-{uuid.uuid4().hex[:8]}:"
    the_bus = make_bus(REDIS_URL, prefix=prefix)
    if REDIS_URL:
        try:
            await the_bus.ping()
        except Exception as exc:  # noqa: BLE001
            pytest.exit(f"JINLIN_TEST_REDIS_URL={REDIS_URL} is set but Redis does not answer: {exc!r}", returncode=3)
    the_bus.prefix = prefix  # type: ignore[attr-defined]
    set_bus(the_bus)
    yield the_bus
    if REDIS_URL:
        keys = [k async for k in the_bus.redis.scan_iter(match=prefix + "*")]  # type: ignore[attr-defined]
        if keys:
            await the_bus.redis.delete(*keys)  # type: ignore[attr-defined]
    await the_bus.close()
    set_bus(None)


@pytest_asyncio.fixture(autouse=True)
async def _isolate(database: TestDatabase, bus: Bus, fake_wechat: FakeWechat) -> AsyncIterator[None]:
    """Every test starts from empty tables, an empty bus cache and a fresh fake WeChat."""
    await empty_tables(database)
    if REDIS_URL:
        keys = [k async for k in bus.redis.scan_iter(match=bus.prefix + "*")]  # type: ignore[attr-defined]
        if keys:
            await bus.redis.delete(*keys)  # type: ignore[attr-defined]
    else:
        bus._cache.clear()  # type: ignore[attr-defined]
    fake_wechat.reset()
    cache = principals.current()
    if cache is not None:
        cache.clear()
    yield


@pytest.fixture(scope="session")
def settings(database: TestDatabase, fake_wechat: FakeWechat) -> Settings:
    return make_settings(database.url, fake_wechat.base_url)  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings, bus: Bus):  # type: ignore[no-untyped-def]
    from backend.main import create_app
    from backend.outbox import registry

    registry.load_all()
    application = create_app(settings, with_lifespan=False)
    application.state.bus = bus
    application.state.http = httpx.AsyncClient()
    # As the lifespan does: the principal cache, live while it listens for invalidations on the bus.
    async with principals.running(settings.auth_cache_seconds, bus):
        yield application
    await application.state.http.aclose()


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
