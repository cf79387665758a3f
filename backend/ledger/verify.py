"""``jinlin ledger verify``: recompute everything the ledger materialises from the entries, and report any
difference. Three passes, each in id-ordered batches whose aggregation runs in the database, so memory stays
flat in the number of entries (it grows only with the number of accounts, one integer or two each):

1. entries, by id range: each account's sum and earned sum, and its running balance: within a batch every
   entry's ``balance_after`` must equal the previous one plus its amount (a window ``LAG``), and the first entry
   of an account in a batch must continue from the sum of all its earlier entries;
2. transfers, by id range: every transfer has at least two entries per currency and they sum to zero;
3. accounts, by id range: the stored balance and lifetime earned equal the recomputed sums, the currency of
   every entry is the account's, and no balance is below its floor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections

MAX_PROBLEMS = 1000

_ENTRY_SUMS = (
    "SELECT account_id, currency, SUM(amount) AS s, SUM(CASE WHEN earning THEN amount ELSE 0 END) AS e, "
    "COUNT(*) AS n "
    "FROM ledger_entry WHERE id >= $1 AND id < $2 GROUP BY account_id, currency"
)
_CHAIN = (
    "SELECT account_id, id, amount, balance_after, prev FROM ("
    " SELECT account_id, id, amount, balance_after,"
    "  LAG(balance_after) OVER (PARTITION BY account_id ORDER BY id) AS prev"
    " FROM ledger_entry WHERE id >= $1 AND id < $2) x "
    "WHERE prev IS NULL OR prev <> balance_after - amount"
)
_TRANSFERS = (
    "SELECT t.id AS transfer_id, e.currency AS currency, SUM(e.amount) AS s, COUNT(e.id) AS n "
    "FROM ledger_transfer t LEFT JOIN ledger_entry e ON e.transfer_id = t.id "
    "WHERE t.id >= $1 AND t.id < $2 GROUP BY t.id, e.currency "
    "HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2"
)
_ACCOUNTS = (
    "SELECT id, owner_kind, owner_id, currency, balance, min_balance, earned FROM ledger_account "
    "WHERE id >= $1 AND id < $2 ORDER BY id"
)


@dataclass
class Problem:
    kind: str  # balance | earned | running_balance | unbalanced_transfer | currency | below_floor
    subject: str  # "account 12 (user 7, hour)", "transfer 40", "entry 991"
    expected: Any
    found: Any


@dataclass
class Report:
    entries: int = 0
    transfers: int = 0
    accounts: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.truncated = True


Progress = Callable[[str, int, int], None]  # (phase, done, total)


class _Db:
    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.postgres = self.conn.capabilities.dialect == "postgres"

    async def rows(self, sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
        if not self.postgres:
            sql = re.sub(r"\$(\d+)", r"?\1", sql)
        return await self.conn.execute_query_dict(sql, values or [])

    async def bounds(self, table: str) -> tuple[int, int]:
        row = (await self.rows(f"SELECT MIN(id) AS lo, MAX(id) AS hi FROM {table}"))[0]
        return (int(row["lo"]), int(row["hi"])) if row["lo"] is not None else (1, 0)


async def verify(*, batch: int = 200_000, progress: Progress | None = None) -> Report:
    """Check the whole ledger; ``report.ok`` is False when anything differs."""
    started = time.monotonic()
    db, report = _Db(), Report()
    sums: dict[int, int] = {}
    earned: dict[int, int] = {}
    currencies: dict[int, set[str]] = {}
    await _entries_pass(db, report, sums, earned, currencies, batch, progress)
    await _transfers_pass(db, report, batch, progress)
    await _accounts_pass(db, report, sums, earned, currencies, batch, progress)
    report.seconds = time.monotonic() - started
    return report


def _ranges(lo: int, hi: int, batch: int):  # type: ignore[no-untyped-def]
    start = lo
    while start <= hi:
        yield start, min(start + batch, hi + 1)
        start += batch


async def _entries_pass(db: _Db, report: Report, sums: dict[int, int], earned: dict[int, int],
                        currencies: dict[int, set[str]], batch: int, progress: Progress | None) -> None:
    lo, hi = await db.bounds("ledger_entry")
    for start, end in _ranges(lo, hi, batch):
        for row in await db.rows(_CHAIN, [start, end]):
            account, before = row["account_id"], int(row["balance_after"]) - int(row["amount"])
            expected = sums.get(account, 0) if row["prev"] is None else int(row["prev"])
            if before != expected:
                report.add(Problem("running_balance", f"entry {row['id']} (account {account})",
                                   expected + int(row["amount"]), int(row["balance_after"])))
        for row in await db.rows(_ENTRY_SUMS, [start, end]):
            account = row["account_id"]
            sums[account] = sums.get(account, 0) + int(row["s"])
            earned[account] = earned.get(account, 0) + int(row["e"])
            currencies.setdefault(account, set()).add(row["currency"])
            report.entries += int(row["n"])
        if progress is not None:
            progress("entries", end - lo, hi - lo + 1)


async def _transfers_pass(db: _Db, report: Report, batch: int, progress: Progress | None) -> None:
    lo, hi = await db.bounds("ledger_transfer")
    for start, end in _ranges(lo, hi, batch):
        for row in await db.rows(_TRANSFERS, [start, end]):
            report.add(Problem("unbalanced_transfer", f"transfer {row['transfer_id']} ({row['currency']})",
                               "≥ 2 entries summing to 0", f"{row['n']} entries summing to {row['s']}"))
        if progress is not None:
            progress("transfers", end - lo, hi - lo + 1)
    report.transfers = int((await db.rows("SELECT COUNT(*) AS n FROM ledger_transfer"))[0]["n"])


async def _accounts_pass(db: _Db, report: Report, sums: dict[int, int], earned: dict[int, int],
                         currencies: dict[int, set[str]], batch: int, progress: Progress | None) -> None:
    lo, hi = await db.bounds("ledger_account")
    for start, end in _ranges(lo, hi, batch):
        for a in await db.rows(_ACCOUNTS, [start, end]):
            report.accounts += 1
            subject = f"account {a['id']} ({a['owner_kind']} {a['owner_id']}, {a['currency']})"
            balance, floor = int(a["balance"]), a["min_balance"]
            if balance != sums.get(a["id"], 0):
                report.add(Problem("balance", subject, sums.get(a["id"], 0), balance))
            if int(a["earned"]) != earned.get(a["id"], 0):
                report.add(Problem("earned", subject, earned.get(a["id"], 0), int(a["earned"])))
            if currencies.get(a["id"], {a["currency"]}) != {a["currency"]}:
                report.add(Problem("currency", subject, a["currency"], sorted(currencies[a["id"]])))
            if floor is not None and balance < int(floor):
                report.add(Problem("below_floor", subject, f">= {floor}", balance))
        if progress is not None:
            progress("accounts", end - lo, hi - lo + 1)
