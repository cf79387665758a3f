"""Database configuration and the unit of work.

Models are grouped into Tortoise apps, one per domain, each with its own migrations package under
``backend/migrations/<app>/`` (see docs/adr/0003). ``atomic()`` is the one way services open a transaction:
it runs callbacks registered with ``on_commit`` only after the commit succeeded (waking the outbox worker,
for instance), and never after a rollback.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.transactions import in_transaction

from backend.config import Settings, get_settings

log = logging.getLogger(__name__)

def discover_apps() -> dict[str, list[str]]:
    """App label -> model modules, from the ``APP`` each module in ``backend/models`` declares."""
    import importlib
    import pkgutil

    import backend.models

    apps: dict[str, list[str]] = {}
    for info in sorted(pkgutil.iter_modules(backend.models.__path__), key=lambda m: m.name):
        name = f"backend.models.{info.name}"
        label = getattr(importlib.import_module(name), "APP", None)
        if label is None:
            raise RuntimeError(f"{name} must declare APP = '<app label>'")
        apps.setdefault(label, []).append(name)
    return apps


def _with_query_defaults(url: str, defaults: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in defaults.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


class PooledConnection(asyncpg.Connection):
    """Connections handed back to the pool without asyncpg's reset query (``RESET ALL; UNLISTEN *; …``).

    That query is one more round trip on every release. Jinlin sets no session state: no SET, LISTEN, session
    advisory locks or cursors outside transactions (an open transaction is still rolled back on release)."""

    def get_reset_query(self) -> str:
        return ""


def _connection(url: str, fair_pool: bool) -> str | dict[str, Any]:
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return url
    config = expand_db_url(url.replace("postgresql://", "postgres://", 1))
    config["credentials"]["connection_class"] = PooledConnection
    if fair_pool:
        config["engine"] = "backend.core.pgclient"  # asyncpg with a first-come, first-served pool (ADR 23)
    return config


def database_url(settings: Settings) -> str:
    """The connection URL with the pool and pragma defaults we rely on."""
    url = settings.database_url
    if url.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://")):
        return _with_query_defaults(url, {"maxsize": str(settings.db_pool_size), "minsize": "1"})
    if url.startswith("sqlite://") and ":memory:" not in url:
        # WAL is Tortoise's default; NORMAL sync is durable under WAL against process crashes.
        return _with_query_defaults(url, {"synchronous": "NORMAL", "busy_timeout": "5000"})
    return url


def is_postgres(settings: Settings | None = None) -> bool:
    url = (settings or get_settings()).database_url
    return url.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://"))


def tortoise_config(
    settings: Settings | None = None, *, url: str | None = None, fair_pool: bool = True
) -> dict[str, Any]:
    """The Tortoise config dict for these settings (or an explicit URL).

    ``fair_pool`` (API processes): waiters get connections first come, first served. The outbox worker turns it
    off: its jobs take a connection several times each (claim, handler, finish), and asyncpg's own queue, which
    favours whoever asks right after a release, lets a job that has started finish first (ADR 23)."""
    settings = settings or get_settings()
    return {
        "connections": {"default": _connection(url or database_url(settings), fair_pool)},
        "apps": {
            label: {
                "models": modules,
                "migrations": f"backend.migrations.{label}",
                "default_connection": "default",
            }
            for label, modules in discover_apps().items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    # ``TORTOISE_ORM`` is read by the ``tortoise`` CLI (pyproject [tool.tortoise]); computed lazily so that
    # importing this module never reads the environment.
    if name == "TORTOISE_ORM":
        return tortoise_config()
    raise AttributeError(name)


_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[None] | None]] | None] = (
    contextvars.ContextVar("jinlin_after_commit", default=None)
)


_background: set[asyncio.Future[None]] = set()


def on_commit(callback: Callable[[], Awaitable[None] | None]) -> None:
    """Run ``callback`` once the enclosing ``atomic()`` block has committed (immediately if there is none)."""
    pending = _after_commit.get()
    if pending is not None:
        if callback not in pending:  # the same hook (e.g. "wake the worker") runs once per commit
            pending.append(callback)
        return
    # Outside atomic() every statement has already committed (autocommit): run it now, in the background.
    result = callback()
    if result is not None:
        task = asyncio.ensure_future(result)
        _background.add(task)
        task.add_done_callback(_background.discard)


@asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    """One transaction; nested calls join the outer one (savepoints), hooks run after the outermost commit."""
    outer = _after_commit.get() is None
    token = _after_commit.set([]) if outer else None
    try:
        async with in_transaction():
            yield
        if outer:
            for callback in _after_commit.get() or []:
                try:
                    result = callback()
                    if result is not None:
                        await result
                except Exception:  # a hook must never turn a committed write into an error
                    log.exception("after-commit hook failed")
    finally:
        if token is not None:
            _after_commit.reset(token)
