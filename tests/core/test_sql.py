"""Hand-written statements (backend/core/sql.py): outside a transaction on PostgreSQL they go to the asyncpg
pool directly (docs/adr/0032); inside ``atomic()`` and on SQLite through Tortoise's client. Either way the
same rows, counts and exceptions."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError

from backend.core import sql
from backend.core.db import atomic
from tests.conftest import PG_URL

postgres_only = pytest.mark.skipif(not PG_URL, reason="the direct path is PostgreSQL's asyncpg pool")

_AUDIT = (
    "INSERT INTO audit_log (actor_id, on_behalf_of_id, action, object_type, object_id, detail, request_id,"
    " created_at) VALUES (NULL, NULL, $1, 'test', '1', '{}', NULL, CURRENT_TIMESTAMP)"
)


class Forbidden(AssertionError):
    pass


@pytest.fixture
def tortoise_client_refuses(monkeypatch):  # type: ignore[no-untyped-def]
    """Tortoise's client methods raise: a statement that still reaches them did not take the direct path."""
    client = connections.get("default")

    async def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Forbidden("went through Tortoise's client")

    for name in ("execute_query", "execute_query_dict"):
        monkeypatch.setattr(client, name, refuse)
    return client


async def _same_everywhere(action: str = "test:one") -> tuple[list, list, int, int]:
    fetched = await sql.fetch("SELECT CAST($1 AS BIGINT) AS a, CAST($2 AS TEXT) AS b", 7, "七")
    rows = await sql.rows(
        "SELECT CAST($1 AS INTEGER) AS g, CAST($2 AS INTEGER) AS h UNION ALL SELECT 3, 6", 1, 2
    )
    inserted = await sql.execute(_AUDIT, action)
    updated = await sql.execute("UPDATE audit_log SET object_id = '2' WHERE action = $1", action)
    return fetched, [tuple(r) for r in rows], inserted, updated


@postgres_only
async def test_outside_a_transaction_statements_skip_tortoises_client(  # type: ignore[no-untyped-def]
    tortoise_client_refuses,
) -> None:
    await sql.fetch("SELECT 1")  # Tortoise opens its pool on first use; in this suite it is open already
    assert sql._autocommit_pool(connections.get("default")) is not None
    fetched, rows, inserted, updated = await _same_everywhere()
    assert fetched == [{"a": 7, "b": "七"}]
    assert rows == [(1, 2), (3, 6)]
    assert (inserted, updated) == (0, 1)  # counted as Tortoise counts: an INSERT's status is "INSERT 0 1"
    assert await sql.rows(_AUDIT, "test:two") == []  # a write answers no rows, as through Tortoise


async def test_inside_a_transaction_they_take_its_connection() -> None:
    with pytest.raises(RuntimeError):
        async with atomic():
            assert sql._autocommit_pool(connections.get("default")) is None
            await sql.execute(_AUDIT.replace("CURRENT_TIMESTAMP", "$2"), "test:rolled-back", _now())
            assert len(await sql.fetch("SELECT id FROM audit_log WHERE action = $1", "test:rolled-back")) == 1
            raise RuntimeError("roll back")
    assert await sql.fetch("SELECT id FROM audit_log WHERE action = $1", "test:rolled-back") == []


async def test_both_paths_answer_alike() -> None:
    outside = await _same_everywhere("test:outside")
    async with atomic():
        inside = await _same_everywhere("test:inside")
    assert outside[:2] == inside[:2]
    assert outside[2:] == inside[2:] or not PG_URL  # SQLite counts an INSERT's rows


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("SELEC 1", OperationalError),  # syntax
        ("SELECT 1 / (SELECT count(*) FROM audit_log WHERE action = 'none')", OperationalError),  # data
        (  # a foreign key
            "INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning,"
            " created_at) VALUES (-1, -1, 'point', 1, 1, false, CURRENT_TIMESTAMP)",
            IntegrityError,
        ),
    ],
)
async def test_errors_are_translated_alike(statement: str, error: type[Exception]) -> None:
    if error is OperationalError and not PG_URL and "/" in statement:
        pytest.skip("SQLite divides by zero into NULL")
    with pytest.raises(error):
        await sql.execute(statement)
    with pytest.raises(error):
        async with atomic():
            await sql.execute(statement)


def _now():  # type: ignore[no-untyped-def]
    from backend.core.timeutil import utcnow

    return utcnow()
