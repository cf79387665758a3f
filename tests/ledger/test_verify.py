"""``jinlin ledger verify``, run as CI would run it: a subprocess against the test database, after a realistic
workload; and proof that it notices a corrupted balance, an unbalanced transfer and a broken running balance."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys

import pytest

from backend.core.db import atomic
from backend.ledger import jobs
from backend.ledger import service as ledger
from backend.ledger.exceptions import GiftCapExceeded, InsufficientBalance
from backend.ledger.rules import CommunityRules, TaskKind, save
from backend.ledger.verify import verify
from backend.models.ledger import Account, Currency, Entry, OwnerKind, Transfer, TransferKind
from tests.conftest import PG_URL, TEST_SECRET
from tests.ledger.conftest import raw


async def realistic_workload(world, *, rounds: int = 60) -> None:  # type: ignore[no-untyped-def]
    """Deliveries, activities, awards, allowances, gifts, redemptions (some concurrent, some refused),
    orders reserved and settled, and reversals."""
    rng = random.Random(4)
    await save(world.community.id, CommunityRules(allowance_points={"is_elderly": 20}, gift_yearly_cap_minutes=600,
                                                  credit_limit_points=10), actor_id=world["staff"].id)
    await ledger.open_store_account(1, community=world.community, name="爱心超市", actor_id=None)
    people = [world[n] for n in ("volunteer", "volunteer_b", "resident", "parent")]
    await jobs.pay_monthly_allowances("2026-10")
    await jobs.pay_monthly_allowances("2026-11")
    for i in range(rounds):
        v = rng.choice(people)
        await ledger.earn_service(v.id, community=world.community, task_id=i, task_kind=rng.choice(list(TaskKind)),
                                  distance_m=rng.randint(0, 5000))
        if i % 5 == 0:
            await ledger.award(v.id, community=world.community, currency=Currency.POINT, amount=rng.randint(1, 50),
                               reason="表彰", actor_id=world["staff"].id)
        results = await asyncio.gather(*(
            ledger.redeem(p.id, store_id=1, points=rng.randint(1, 30), actor_id=p.id, idempotency_key=f"r{i}-{p.id}")
            for p in people
        ), return_exceptions=True)
        assert all(not isinstance(r, Exception) or isinstance(r, InsufficientBalance) for r in results)
        try:
            await ledger.gift_hours(v.id, world["parent"].id if v != world["parent"] else world["resident"].id,
                                    rng.randint(1, 40), relation="父母", actor_id=v.id, idempotency_key=f"g{i}")
        except (InsufficientBalance, GiftCapExceeded):
            pass
        if i % 7 == 0:
            try:
                await ledger.reserve_points(v.id, 5, community=world.community, order_id=i, actor_id=None)
                settle = (
                    ledger.redeem_reserved(i, store_id=1, resident_id=v.id, actor_id=None)
                    if i % 2
                    else ledger.release_reserved(i, resident_id=v.id, actor_id=None)
                )
                await settle
            except InsufficientBalance:
                pass
    for transfer in await Transfer.filter(kind=TransferKind.EARN_SERVICE).order_by("id").limit(5):
        try:
            await ledger.reverse(transfer, actor_id=world["staff"].id, reason="登记错误")
        except InsufficientBalance:
            pass


def run_verify(database, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET, "JINLIN_DATABASE_URL": database.url,
           "JINLIN_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "backend.cli", "ledger", "verify", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.live
class TestVerifyCommand:
    async def test_a_realistic_ledger_verifies_clean(self, world, database):
        await realistic_workload(world)
        assert await Transfer.all().count() > 200
        result = run_verify(database, "--batch", "1000")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "账本一致" in result.stdout

    async def test_a_corrupted_balance_is_reported_with_exit_code_1(self, world, database):
        await realistic_workload(world, rounds=10)
        account = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        await raw("UPDATE ledger_account SET balance = balance + 7 WHERE id = $1", [account.id])
        result = run_verify(database)
        assert result.returncode == 1
        assert f"account {account.id}" in result.stdout and "balance" in result.stdout
        assert str(account.balance) in result.stdout and str(account.balance + 7) in result.stdout


async def _forced(sql: str, values: list) -> None:  # type: ignore[type-arg]
    """Write past the database's own guards (PostgreSQL: as a superuser in replica mode, which skips triggers)."""
    async with atomic():
        if PG_URL:
            await raw("SET LOCAL session_replication_role = replica")
        await raw(sql, values)


class TestVerifyFindsCorruption:
    async def test_clean(self, world):
        await realistic_workload(world, rounds=15)
        for batch in (1, 3, 1000):  # batch edges must not matter
            report = await verify(batch=batch)
            assert report.ok, report.problems
        assert report.entries == await Entry.all().count() and report.transfers == await Transfer.all().count()

    async def test_an_unbalanced_transfer_and_the_balances_it_breaks(self, world):
        await realistic_workload(world, rounds=5)
        entry = await Entry.filter(currency=Currency.HOUR).order_by("-id").first()
        await _forced("INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, "
                      "created_at) VALUES ($1, $2, 'hour', 5, $3, $4, $5)",
                      [entry.transfer_id, entry.account_id, entry.balance_after + 5, False, entry.created_at])
        report = await verify(batch=50)
        kinds = {p.kind for p in report.problems}
        assert {"unbalanced_transfer", "balance"} <= kinds and not report.ok

    async def test_a_broken_running_balance(self, world):
        await realistic_workload(world, rounds=5)
        entry = await Entry.filter(currency=Currency.HOUR).order_by("-id").first()
        other = await Account.filter(currency=Currency.HOUR).exclude(id=entry.account_id).first()
        transfer = await Transfer.create(kind=TransferKind.AWARD, reason="forged", created_at=entry.created_at)
        await _forced(
            "INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, created_at) "
            "VALUES ($1, $2, 'hour', 5, 999, $3, $4), ($1, $5, 'hour', -5, -999, $3, $4)",
            [transfer.id, entry.account_id, False, entry.created_at, other.id],
        )
        report = await verify(batch=50)
        assert "running_balance" in {p.kind for p in report.problems}


@pytest.mark.live
class TestExportCommand:
    async def test_exports_an_accounts_statement_to_excel(self, world, database, tmp_path):
        import openpyxl

        await realistic_workload(world, rounds=5)
        account = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        out = tmp_path / "statement.xlsx"
        env = {**os.environ, "JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET,
               "JINLIN_DATABASE_URL": database.url, "COLUMNS": "200"}
        result = subprocess.run([sys.executable, "-m", "backend.cli", "ledger", "export", str(account.id), "--out",
                                 str(out)], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
        lines = await Entry.filter(account_id=account.id).count()
        assert len(rows) == 2 + lines and f"{lines} 行" in result.stdout
        assert rows[-1][7] == round(account.balance / 60, 2)  # the last line's running balance, in hours
