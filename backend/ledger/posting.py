"""The posting engine: ``post(kind, legs, …)`` writes one immutable transfer and moves the balances.

One transfer is, atomically (a savepoint when the caller already has a transaction):

1. ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` of the transfer row. This claims the idempotency key (and,
   for a reversal, the original): a concurrent duplicate waits on the unique index and then finds the winner's
   transfer, which is returned as a replay. No read-then-write, no caught IntegrityError aborting the caller.
2. One conditional ``UPDATE … SET balance = balance + x WHERE <owner> AND balance + x >= min_balance
   RETURNING id, balance`` per leg. Zero rows means the account is missing (it is opened, then retried) or the
   floor refused the debit (``InsufficientBalance``, and everything rolls back). Which of the two is decided
   while the key of step 1 is still held, so a concurrent post with the same key can never be the reason for a
   refusal: it is replayed instead (issue 4; migrations/ledger/0003). Legs are applied in one global order
   (people first, then organisations' accounts, by owner), so two transfers never wait on each other in a cycle,
   and the busiest rows (issuers, stores) are locked last and for the shortest time.
3. One multi-row ``INSERT`` of the entries, each carrying the account's balance after it. Under the row lock
   taken in step 2, entry ids of one account follow the order of its balance changes, so ``balance_after`` is
   the running balance.

On SQLite these are statements in one transaction. On PostgreSQL the same three steps run server-side in one
call of ``ledger_post`` (migrations/ledger/0002, 0003): one round trip instead of six, atomic by itself
(docs/adr/0011). The CHECK on ``ledger_account`` backs the floor up, and on PostgreSQL a deferred trigger refuses
to commit a transfer that does not sum to zero (migrations/ledger/0001).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.core.db import atomic
from backend.core.errors import Conflict
from backend.core.sql import fetch, in_transaction, write_slot
from backend.core.timeutil import utcnow
from backend.ledger import repository
from backend.ledger.exceptions import (
    AlreadyReversed,
    IdempotencyKeyConflict,
    InsufficientBalance,
    StoreNotFound,
    UnbalancedTransfer,
)
from backend.ledger.rules import for_community
from backend.ledger.types import Leg, Owner, Place, Posted, PostedEntry
from backend.models.ledger import Currency, OwnerKind, Transfer, TransferKind
from backend.models.org import OrgUnit

MAX_AMOUNT = 10**12  # far beyond any real balance, far below BIGINT


_SQL = {
    "insert_transfer": (
        "INSERT INTO ledger_transfer (kind, reason, actor_id, link_type, link_id, idempotency_key, reverses_id, "
        "street_id, community_id, grid_id, compound_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id"
    ),
    "update_balance": (
        "UPDATE ledger_account SET balance = balance + $1, earned = earned + $2 "
        "WHERE owner_kind = $3 AND owner_id = $4 AND currency = $5 "
        "AND (min_balance IS NULL OR balance + $1 >= min_balance) RETURNING id, balance"
    ),
    "open_account": (
        "INSERT INTO ledger_account (owner_kind, owner_id, currency, balance, min_balance, earned, name, "
        "show_on_leaderboard, street_id, community_id, grid_id, compound_id, created_at) "
        "VALUES ($1, $2, $3, 0, $4, 0, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
    ),
}


@cache
def sql(name: str, dialect: str) -> str:
    """A statement written with PostgreSQL's ``$n`` parameters, in the dialect's own (SQLite: ``?n``)."""
    text = _SQL[name] if name in _SQL else _entries_sql(int(name.removeprefix("insert_entries_")))
    return text if dialect == "postgres" else re.sub(r"\$(\d+)", r"?\1", text)


def _entries_sql(n: int) -> str:
    rows = ", ".join(
        "(" + ", ".join(f"${7 * i + j}" for j in range(1, 8)) + ")" for i in range(n)
    )
    return (
        "INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, created_at) "
        f"VALUES {rows}"
    )


def _checked(legs: list[Leg]) -> list[Leg]:
    if len(legs) < 2:
        raise UnbalancedTransfer(detail={"reason": "fewer_than_two_entries"})
    sums: Counter[Currency] = Counter()
    for leg in legs:
        if type(leg.amount) is not int or leg.amount == 0 or abs(leg.amount) > MAX_AMOUNT:
            raise UnbalancedTransfer("记账金额必须是非零整数", detail={"amount": repr(leg.amount)})
        sums[leg.currency] += leg.amount
    if any(sums.values()):
        raise UnbalancedTransfer(detail={"sums": {c.value: s for c, s in sums.items()}})
    if len({(leg.owner, leg.currency) for leg in legs}) != len(legs):
        raise UnbalancedTransfer("同一笔记账中同一账户只能出现一次", detail={"reason": "duplicate_account"})
    return legs


def _lock_order(leg: Leg) -> tuple[bool, str, int, str]:
    return (leg.owner.kind is not OwnerKind.USER, leg.owner.kind.value, leg.owner.id, leg.currency.value)


async def post(
    kind: TransferKind,
    legs: list[Leg],
    *,
    reason: str,
    place: Place | Owner = Place(),
    actor_id: int | None = None,
    idempotency_key: str | None = None,
    link: tuple[str, int | str] | None = None,
    reverses_id: int | None = None,
) -> Posted:
    """Post one transfer (see the module docstring). The same ``idempotency_key`` returns the first transfer.

    ``place`` is where it happened, or the owner of one of the legs whose account's place it takes (a
    redemption happens where its store is)."""
    legs = in_lock_order(legs)
    link_type, link_id = (link[0], str(link[1])) if link else (None, None)
    place_leg = None
    if isinstance(place, Owner):
        place_leg = next(i for i, leg in enumerate(legs, 1) if leg.owner == place)
        place = Place()
    head = [kind.value, reason[:200], actor_id, link_type, link_id, idempotency_key, reverses_id,
            place.street_id, place.community_id, place.grid_id, place.compound_id, utcnow()]
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        applied = await _post_in_one_call(head, legs, place_leg)
    else:
        if place_leg is not None:
            leg = legs[place_leg - 1]
            place = Place.of(await repository.account_of(leg.owner, leg.currency))
            head[7:11] = [place.street_id, place.community_id, place.grid_id, place.compound_id]
        applied = await _post_statement_by_statement(head, legs)
    if applied is None:
        return await _existing(kind, legs, idempotency_key, reverses_id)
    transfer_id, entries, place = applied
    transfer = Transfer._init_from_db(  # the row as written (the ORM's fast path for rows read from the db)
        id=transfer_id, kind=kind.value, reason=reason[:200], actor_id=actor_id, link_type=link_type,
        link_id=link_id, idempotency_key=idempotency_key, reverses_id=reverses_id, created_at=head[-1],
        street_id=place.street_id, community_id=place.community_id, grid_id=place.grid_id,
        compound_id=place.compound_id,
    )
    return Posted(transfer=transfer, entries=entries)


# (transfer id, entries, place), or None when the key (or the reversed original) was already taken
Applied = tuple[int, list[PostedEntry], Place] | None


async def _post_statement_by_statement(head: list[object], legs: list[Leg]) -> Applied:
    """SQLite (and any database without ``ledger_post``): the steps of the module docstring, in a transaction."""
    async with atomic():
        conn = connections.get("default")
        dialect = conn.capabilities.dialect
        rows = await conn.execute_query_dict(sql("insert_transfer", dialect), head)
        if not rows:
            return None
        transfer_id = rows[0]["id"]
        applied = [(leg, *await _apply(conn, dialect, leg)) for leg in legs]
        stamped = utcnow()  # after the row locks: per account, entry time follows entry id
        values: list[object] = []
        for leg, account_id, balance in applied:
            values += [transfer_id, account_id, leg.currency.value, leg.amount, balance, leg.earning, stamped]
        await conn.execute_query(sql(f"insert_entries_{len(applied)}", dialect), values)
    entries = [PostedEntry(a, leg.owner, leg.currency, leg.amount, b, leg.earning) for leg, a, b in applied]
    return transfer_id, entries, Place(*head[7:11])  # type: ignore[arg-type]


_CALL = "SELECT * FROM ledger_post(" + ", ".join(f"${i}" for i in range(1, 19)) + ")"


def leg_arrays(legs: list[Leg]) -> list[list[object]]:
    """``ledger_post``'s five leg arrays (owner kinds, owner ids, currencies, amounts, earning) for ``legs``,
    which must be checked and in lock order (``in_lock_order``)."""
    return [[leg.owner.kind.value for leg in legs], [leg.owner.id for leg in legs],
            [leg.currency.value for leg in legs], [leg.amount for leg in legs], [leg.earning for leg in legs]]


def in_lock_order(legs: list[Leg]) -> list[Leg]:
    """``legs`` checked (non-zero integers summing to zero per currency, one per account) and sorted in the
    one global order every posting locks accounts in."""
    return sorted(_checked(legs), key=_lock_order)


async def judge_refusal(exc: Exception, legs: list[Leg]) -> None:
    """What a ``ledger_post`` refusal means (``legs`` as sent): LG002 (below the floor, judged by the call
    while it held the key) raises ``InsufficientBalance``; LG001 (no account) opens it, and the caller calls
    again; anything else is raised again.

    After LG001 nothing here may decide a refusal: the call has let go of the key, and a concurrent post with
    the same key may have posted since. Opening the account is a no-op if a concurrent posting did; the next
    call claims the key or replays that post."""
    state = getattr(exc, "sqlstate", None)
    if state == "LG002":
        position, balance, min_balance = (int(part) for part in exc.detail.split())  # type: ignore[attr-defined]
        raise _insufficient(legs[position - 1], balance, min_balance) from None
    if state != "LG001":
        raise exc
    leg = legs[int(exc.detail) - 1]  # type: ignore[attr-defined]
    await open_account(leg.owner, leg.currency)


async def _post_in_one_call(head: list[object], legs: list[Leg], place_leg: int | None) -> Applied:
    """PostgreSQL: the same steps in one call of ``ledger_post`` (migrations 0002, 0003), atomic by itself.
    Inside a caller's transaction it runs in a savepoint, so that a refused leg does not abort the caller's work.
    A refusal is judged by ``judge_refusal``."""
    import asyncpg

    args = [*head, *leg_arrays(legs), place_leg]
    for _ in range(len(legs) + 5):  # a retry follows an account opened (here, or concurrently) meanwhile
        try:
            if in_transaction():
                async with atomic():
                    rows = await connections.get("default").execute_query_dict(_CALL, args)
            else:
                async with write_slot():
                    rows = await fetch(_CALL, *args)  # autocommit: on the pool directly (ADR 32)
        except asyncpg.PostgresError as exc:
            await judge_refusal(exc, legs)
            continue
        if not rows:
            return None
        first = rows[0]
        return first["out_transfer"], [
            PostedEntry(r["out_account"], leg.owner, leg.currency, leg.amount, r["out_balance"], leg.earning)
            for leg, r in zip(legs, rows, strict=True)
        ], Place(first["out_street"], first["out_community"], first["out_grid"], first["out_compound"])
    raise Conflict("记账繁忙，请重试")


async def _apply(conn: BaseDBAsyncClient, dialect: str, leg: Leg) -> tuple[int, int]:
    params = [leg.amount, leg.amount if leg.earning else 0, leg.owner.kind.value, leg.owner.id, leg.currency.value]
    rows = await conn.execute_query_dict(sql("update_balance", dialect), params)
    if not rows:  # missing account, or the floor said no: open it if missing (a no-op otherwise), try again
        await open_account(leg.owner, leg.currency)
        rows = await conn.execute_query_dict(sql("update_balance", dialect), params)
    if not rows:  # judged inside the transaction that holds the key: no post with the same key can be in it
        account = await repository.account_of(leg.owner, leg.currency)
        raise _insufficient(leg, account.balance if account else 0, account.min_balance if account else 0)
    return rows[0]["id"], rows[0]["balance"]


def _insufficient(leg: Leg, balance: int, min_balance: int | None) -> InsufficientBalance:
    return InsufficientBalance(
        f"{leg.currency.label}余额不足",
        detail={"currency": leg.currency.value, "needed": -leg.amount, "balance": balance,
                "min_balance": min_balance},
    )


async def open_account(
    owner: Owner, currency: Currency, *, name: str | None = None, unit: OrgUnit | None = None
) -> None:
    """Open ``owner``'s account in ``currency`` unless it exists (race-free: ON CONFLICT DO NOTHING).

    A person's floor is minus their home community's credit limit; an issuer is unbounded; a store, an
    escrow and a person's hold account never go below zero. Stores are opened only by ``open_store_account``
    (with their unit)."""
    if owner.kind is OwnerKind.STORE and unit is None:
        raise StoreNotFound(detail={"store_id": owner.id})
    place = Place()
    if owner.kind is OwnerKind.USER:
        rules = await for_community(await repository.home_community_id(owner.id))
        min_balance: int | None = -rules.credit_limit(currency)
    elif owner.kind is OwnerKind.HOLD:  # a person's, placed as their own account is (nowhere: scoped by person)
        min_balance, name = 0, name or "冻结积分"
    else:
        unit = unit or await OrgUnit.get(id=owner.id)
        place = Place.of(unit)
        min_balance = None if owner.kind is OwnerKind.ISSUER else 0
        name = name or f"{unit.name}{'发行账户' if owner.kind is OwnerKind.ISSUER else '冻结账户'}"
    conn = connections.get("default")
    await conn.execute_query(sql("open_account", conn.capabilities.dialect), [
        owner.kind.value, owner.id, currency.value, min_balance, name, owner.kind is not OwnerKind.HOLD,
        place.street_id, place.community_id, place.grid_id, place.compound_id, utcnow(),
    ])


async def _existing(kind: TransferKind, legs: list[Leg], key: str | None, reverses_id: int | None) -> Posted:
    """The transfer row was not inserted: a replay of the same key, or a second reversal of one original."""
    if key is not None:
        transfer = await repository.transfer_by_key(key)
        if transfer is not None:
            entries = await repository.posted_entries(transfer.id)
            wanted = Counter((leg.owner, leg.currency, leg.amount) for leg in legs)
            found = Counter((e.owner, e.currency, e.amount) for e in entries)
            if transfer.kind != kind or wanted != found:
                raise IdempotencyKeyConflict(detail={"transfer_id": transfer.id})
            return Posted(transfer=transfer, entries=entries, replayed=True)
    if reverses_id is not None and await Transfer.exists(reverses_id=reverses_id):
        raise AlreadyReversed(detail={"transfer_id": reverses_id})
    raise Conflict("记账冲突，请重试")

