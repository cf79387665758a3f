"""Hand-written SQL for the few hottest queries (authenticating every request, writing outbox rows).

Tortoise's query builder costs ~0.2–0.4 ms of CPU per query; a constant SQL string is parsed once and, on
PostgreSQL, prepared once per connection by asyncpg. Write PostgreSQL placeholders (``$1``, ``$2``… each used
once, in order); they are rewritten to ``?`` on SQLite. Runs on the current transaction when inside ``atomic()``.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise.connection import get_connections

_PLACEHOLDER = re.compile(r"\$\d+")
_sqlite_sql: dict[str, str] = {}


def _dialect_sql(conn: Any, sql: str) -> str:
    if conn.capabilities.dialect != "sqlite":
        return sql
    converted = _sqlite_sql.get(sql)
    if converted is None:
        converted = _sqlite_sql[sql] = _PLACEHOLDER.sub("?", sql)
    return converted


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    conn = get_connections().get("default")
    return await conn.execute_query_dict(_dialect_sql(conn, sql), list(params))


async def rows(sql: str, *params: Any) -> list[Any]:
    """A SELECT's rows as sequences in column order (asyncpg ``Record`` / ``sqlite3.Row``), without building a
    dict per row: for queries that return many rows and read them by position."""
    conn = get_connections().get("default")
    _, found = await conn.execute_query(_dialect_sql(conn, sql), list(params))
    return list(found)


async def execute(sql: str, *params: Any) -> int:
    conn = get_connections().get("default")
    count, _ = await conn.execute_query(_dialect_sql(conn, sql), list(params))
    return count


def is_sqlite() -> bool:
    return get_connections().get("default").capabilities.dialect == "sqlite"
