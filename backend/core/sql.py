"""Hand-written SQL for the few hottest queries (authenticating every request, writing outbox rows).

Tortoise's query builder costs ~0.2–0.4 ms of CPU per query; a constant SQL string is parsed once and, on
PostgreSQL, prepared once per connection by asyncpg. Write PostgreSQL placeholders (``$1``, ``$2``… each used
once, in order); they are rewritten to ``?`` on SQLite. Runs on the current transaction when inside ``atomic()``.
Outside a transaction on PostgreSQL the statement goes to the asyncpg pool directly: Tortoise's client adds
two wrapper coroutines, a connection wrapper and a debug log call, ~25–40 µs of CPU per statement against
~80–100 µs for the statement itself (docs/adr/0032). Its errors are translated as Tortoise's are
(``OperationalError``, ``IntegrityError``), so callers see the same exceptions either way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import Enum
from typing import Any, TypeVar

import asyncpg
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError

M = TypeVar("M")
_PLACEHOLDER = re.compile(r"\$\d+")
_sqlite_sql: dict[str, str] = {}


def _dialect_sql(conn: Any, sql: str) -> str:
    if conn.capabilities.dialect != "sqlite":
        return sql
    converted = _sqlite_sql.get(sql)
    if converted is None:
        converted = _sqlite_sql[sql] = _PLACEHOLDER.sub("?", sql)
    return converted


_WRITES = ("UPDATE", "DELETE", "INSERT")  # Tortoise's execute_query answers these with a count and no rows


def _autocommit_pool(conn: Any) -> asyncpg.Pool | None:
    """The open asyncpg pool behind ``conn`` when a statement sent now runs in autocommit on PostgreSQL;
    None inside ``atomic()`` (the transaction's connection must take it), on SQLite, or before the pool is
    opened (Tortoise opens it on first use)."""
    if isinstance(conn, TransactionalDBClient):
        return None
    pool = getattr(conn, "_pool", None)
    return pool if isinstance(pool, asyncpg.Pool) else None


async def _on_pool(pool: asyncpg.Pool, method: str, sql: str, params: tuple[Any, ...]) -> Any:
    try:
        async with pool.acquire() as connection:
            return await getattr(connection, method)(sql, *params)
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:  # as Tortoise translates them
        raise OperationalError(exc) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc


async def _query_on_pool(pool: asyncpg.Pool, sql: str, params: tuple[Any, ...]) -> tuple[int, list[Any]]:
    """Tortoise's ``execute_query`` on the pool: a write answers its count (as Tortoise counts it, the
    status's second word: "UPDATE 3" → 3, "INSERT 0 1" → 0) and no rows; anything else its rows and their
    number."""
    if sql.lstrip().upper().startswith(_WRITES):
        parts = (await _on_pool(pool, "execute", sql, params)).split(" ")
        return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), []
    found = list(await _on_pool(pool, "fetch", sql, params))
    return len(found), found


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    conn = get_connections().get("default")
    pool = _autocommit_pool(conn)
    if pool is not None:
        return [dict(row) for row in await _on_pool(pool, "fetch", sql, params)]
    return await conn.execute_query_dict(_dialect_sql(conn, sql), list(params))


async def rows(sql: str, *params: Any) -> list[Any]:
    """A SELECT's rows as sequences in column order (asyncpg ``Record`` / ``sqlite3.Row``), without building a
    dict per row: for queries that return many rows and read them by position."""
    conn = get_connections().get("default")
    pool = _autocommit_pool(conn)
    if pool is not None:
        _, found = await _query_on_pool(pool, sql, params)
        return found
    _, found = await conn.execute_query(_dialect_sql(conn, sql), list(params))
    return list(found)


async def execute(sql: str, *params: Any) -> int:
    conn = get_connections().get("default")
    pool = _autocommit_pool(conn)
    if pool is not None:
        count, _ = await _query_on_pool(pool, sql, params)
        return count
    count, _ = await conn.execute_query(_dialect_sql(conn, sql), list(params))
    return count


# ---------------------------------------------------------------------------------------------- write slots
# The heavy writes of the request path (a report filed, an order placed, a ledger post) are each one statement
# that is its own transaction. Many of them at once make PostgreSQL spend its CPU on contention (WAL flushes,
# locks, index pages) rather than on the writes: on the 2-core benchmark machine 20 at a time cost ~30 % more
# database CPU per write than 8-10 for the same or less throughput. ``write_slot`` lets at most N of them per
# process into the database at once; the others wait here, in arrival order (docs/adr/0029).

_write_slots: asyncio.Semaphore | None = None
_write_limit: int | None = None


def install_write_slots(n: int | None) -> None:
    """Limit this process's heavy writes to ``n`` at a time (None or 0: no limit). Called by the API's
    lifespan on PostgreSQL."""
    global _write_slots, _write_limit
    _write_slots, _write_limit = (asyncio.Semaphore(n), n) if n else (None, None)


def write_limit() -> int | None:
    """The limit in force (None: none)."""
    return _write_limit


@asynccontextmanager
async def write_slot() -> AsyncIterator[None]:
    """Wait for a write slot around a heavy write that runs in autocommit. Inside a transaction (``atomic()``)
    it does not wait: that transaction may already hold row locks that a slot holder is waiting for, and
    waiting for its slot there could close a cycle no database would see."""
    slots = _write_slots
    if slots is None or in_transaction():
        yield
        return
    async with slots:
        yield


def is_sqlite() -> bool:
    return get_connections().get("default").capabilities.dialect == "sqlite"


def in_transaction() -> bool:
    """Whether a statement sent now runs inside a transaction (``atomic()``) rather than in autocommit."""
    return isinstance(get_connections().get("default"), TransactionalDBClient)


class Holes:
    """Numbered PostgreSQL placeholders handed out by name, for one statement composed from parts written in
    different modules (``backend/reports/submission.py`` joins the notification's CTEs to the report's).

    ``holes("kind")`` returns ``$k``, the same ``$k`` every time that name is asked for; ``values`` lays out
    the parameters in that order. Build the statement once (module level, or cached per shape): asyncpg
    prepares each distinct text once per connection. PostgreSQL only (a name used twice is one ``$k`` used
    twice)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._number: dict[str, int] = {}

    def __call__(self, name: str) -> str:
        number = self._number.get(name)
        if number is None:
            self.names.append(name)
            number = self._number[name] = len(self.names)
        return f"${number}"

    def __contains__(self, name: str) -> bool:
        return name in self._number

    def values(self, given: dict[str, Any]) -> list[Any]:
        """The parameters in placeholder order; a name without a value is a bug and raises ``KeyError``."""
        return [given[name] for name in self.names]


def literal(value: Any) -> str:
    """A constant of our own code (never user input) as a PostgreSQL literal: None, bool, int, or a str/Enum
    value without quotes in it."""
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "'" not in value and "\\" not in value:
        return f"'{value}'"
    raise ValueError(f"not a literal this helper writes: {value!r}")


_blanks: dict[type, Any] = {}


def as_stored(model: type[M], values: dict[str, Any]) -> M:
    """The ``model`` instance ``_init_from_db`` would build for a row just inserted with ``values`` (Python
    values by column; columns not given are NULL), without reading the row back: converting a ``RETURNING *``
    row costs more than the insert's own Python work. Only for rows whose every column the caller sent or
    knows to be NULL; tests compare such instances with a fresh read."""
    blank = _blanks.get(model)
    if blank is None:
        blank = _blanks[model] = model._init_from_db(**dict.fromkeys(model._meta.db_fields))
    instance = model.__new__(model)
    instance.__dict__.update(blank.__dict__)
    instance.__dict__.update(values)
    return instance
