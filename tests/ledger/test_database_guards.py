"""What the database itself refuses, whatever the application does: changing or deleting entries and transfers,
balances below their floor, a second account per owner and currency, a second reversal, a reused key, and (on
PostgreSQL) a transfer that does not sum to zero."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.ledger import service as ledger
from backend.models.ledger import Account, Currency, Entry, OwnerKind, Transfer
from tests.conftest import PG_URL
from tests.ledger.conftest import credit, raw

REFUSED = (IntegrityError, OperationalError)


async def _one_transfer(world):  # type: ignore[no-untyped-def]
    posted = await credit(world["volunteer"], community=world.community, minutes=30)
    return posted.transfer.id, (await Entry.filter(transfer_id=posted.transfer.id).order_by("id").first()).id


class TestAppendOnly:
    @pytest.mark.parametrize("sql", [
        "UPDATE ledger_entry SET amount = amount + 1 WHERE id = $1",
        "UPDATE ledger_entry SET balance_after = 0 WHERE id = $1",
        "DELETE FROM ledger_entry WHERE id = $1",
    ])
    async def test_entries_cannot_be_changed_or_deleted(self, world, sql):
        _, entry_id = await _one_transfer(world)
        before = await Entry.get(id=entry_id)
        with pytest.raises(REFUSED, match="append-only"):
            await raw(sql, [entry_id])
        after = await Entry.get(id=entry_id)
        assert (after.amount, after.balance_after) == (before.amount, before.balance_after)

    @pytest.mark.parametrize("sql", [
        "UPDATE ledger_transfer SET reason = 'changed' WHERE id = $1",
        "DELETE FROM ledger_transfer WHERE id = $1",
    ])
    async def test_transfers_cannot_be_changed_or_deleted(self, world, sql):
        transfer_id, _ = await _one_transfer(world)
        with pytest.raises(REFUSED, match="append-only"):
            await raw(sql, [transfer_id])
        assert (await Transfer.get(id=transfer_id)).reason != "changed"

    async def test_the_orm_is_refused_too(self, world):
        transfer_id, entry_id = await _one_transfer(world)
        with pytest.raises(REFUSED):
            await Entry.filter(id=entry_id).update(amount=999)
        with pytest.raises(REFUSED):
            await Transfer.filter(id=transfer_id).delete()


class TestChecks:
    async def test_a_raw_update_below_the_floor_fails_in_the_database(self, world):
        await credit(world["volunteer"], community=world.community, minutes=30)
        account = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        with pytest.raises(IntegrityError):
            await raw("UPDATE ledger_account SET balance = -1 WHERE id = $1", [account.id])
        with pytest.raises(IntegrityError):
            await raw("UPDATE ledger_account SET min_balance = 31 WHERE id = $1", [account.id])
        await account.refresh_from_db()
        assert (account.balance, account.min_balance) == (30, 0)

    async def test_an_issuing_account_has_no_floor(self, world):
        await credit(world["volunteer"], community=world.community, minutes=30)
        await raw("UPDATE ledger_account SET balance = balance - 1000000 WHERE owner_kind = 'issuer'")

    async def test_a_zero_entry_is_refused(self, world):
        transfer_id, entry_id = await _one_transfer(world)
        entry = await Entry.get(id=entry_id)
        with pytest.raises(IntegrityError):
            async with atomic():
                await raw(
                    "INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, "
                    "created_at) VALUES ($1, $2, 'hour', 0, 0, $3, $4)",
                    [transfer_id, entry.account_id, False, entry.created_at],
                )

    async def test_one_account_per_owner_and_currency(self, world):
        await credit(world["volunteer"], community=world.community, minutes=30)
        with pytest.raises(IntegrityError):
            await Account.create(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)

    async def test_a_transfer_can_be_reversed_once_even_bypassing_the_service(self, world):
        original, _ = await _one_transfer(world)
        await ledger.reverse(await Transfer.get(id=original), actor_id=world["staff"].id, reason="误录")
        with pytest.raises(IntegrityError):
            await Transfer.create(kind="reversal", reason="again", reverses_id=original, created_at=utcnow())

    async def test_an_idempotency_key_is_unique(self, world):
        await credit(world["volunteer"], community=world.community, minutes=30, key="same")
        with pytest.raises(IntegrityError):
            await raw("INSERT INTO ledger_transfer (kind, reason, idempotency_key, created_at) "
                      "VALUES ('award', 'x', 'same', CURRENT_TIMESTAMP)")

    async def test_the_second_approver_must_differ_in_the_database(self, world):
        from backend.models.ledger import PendingAward

        pending = await PendingAward.create(recipient_id=world["volunteer"].id, currency=Currency.HOUR, amount=5,
                                            reason="x", requested_by_id=world["staff"].id)
        with pytest.raises(IntegrityError):
            await PendingAward.filter(id=pending.id).update(status="approved", decided_by_id=world["staff"].id)


@pytest.mark.skipif(not PG_URL, reason="deferred constraint triggers are PostgreSQL's; SQLite relies on verify")
class TestBalancedAtCommit:
    async def test_an_unbalanced_transfer_cannot_commit(self, world):
        import asyncpg

        transfer_id, entry_id = await _one_transfer(world)
        entry = await Entry.get(id=entry_id)
        before = await Entry.filter(transfer_id=transfer_id).count()
        # raised by COMMIT itself, which Tortoise passes through untranslated
        with pytest.raises((*REFUSED, asyncpg.IntegrityConstraintViolationError), match="does not sum to zero"):
            async with atomic():
                await raw(
                    "INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, "
                    "created_at) VALUES ($1, $2, 'hour', 5, 0, false, now())", [transfer_id, entry.account_id],
                )
        assert await Entry.filter(transfer_id=transfer_id).count() == before
