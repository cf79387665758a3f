"""One idempotency key never posts twice, and a concurrent caller with the same key gets the replay (or, with
other content, the key conflict), never a misleading refusal (issue 4).

The interleaving that broke it (PostgreSQL, READ COMMITTED): two posts with key K debit a person whose account
is not open yet, against a floor that covers exactly one of them.

1. L's ``ledger_post`` claims K, its debit finds no account (LG001), and the call rolls back: K is free again.
2. W, the twin, claims K, is refused the same way, opens the account, retries and commits the debit.
3. L, outside any claim on K, decided why it had been refused by reading the account: it found W's debit in
   the balance and answered ``InsufficientBalance`` for a key that had just posted.

The refusal must be judged while K is still held, where no twin can have posted (docs/adr/0011). The same race
through real concurrent HTTP requests: ``test_concurrency.py``."""

from __future__ import annotations

import asyncio

import pytest

from backend.ledger import posting
from backend.ledger import service as ledger
from backend.ledger.exceptions import IdempotencyKeyConflict
from backend.ledger.rules import CommunityRules, save
from backend.ledger.verify import verify
from backend.models.ledger import Account, Currency, Transfer
from tests.conftest import PG_URL
from tests.ledger.conftest import balance_of

LIMIT = 20  # the community's credit limit in points: a person with no account can spend up to 20
POINTS = 15  # one redemption fits the floor, two do not


async def credit_limit_and_store(world) -> None:  # type: ignore[no-untyped-def]
    await save(world.community.id, CommunityRules(credit_limit_points=LIMIT), actor_id=world["staff"].id)
    await ledger.open_store_account(1, community=world.community, name="爱心超市", actor_id=None)
    assert not await Account.exists(owner_id=world["resident"].id, currency=Currency.POINT)


@pytest.mark.skipif(not PG_URL, reason="SQLite serialises postings (the connection's lock is held through "
                                       "the transaction): a refusal is always judged while the key is held")
@pytest.mark.parametrize("twin_points", [POINTS, 12], ids=["same body: replay", "other body: key conflict"])
async def test_a_post_refused_before_its_twin_commits_sees_the_twin_not_an_insufficient_balance(
    world, monkeypatch, twin_points
):
    """The exact interleaving, forced: L's first ``ledger_post`` is refused, L pauses, W posts, L resumes."""
    await credit_limit_and_store(world)
    resident = world["resident"].id
    execute = posting.fetch  # the autocommit call of ledger_post (on the pool directly, ADR 32)
    refused, resume = asyncio.Event(), asyncio.Event()
    loser: asyncio.Task | None = None

    async def pausing(query, *params):  # type: ignore[no-untyped-def]
        try:
            return await execute(query, *params)
        except Exception:
            if asyncio.current_task() is loser and "ledger_post(" in query and not refused.is_set():
                refused.set()  # L's call rolled back: K is free, and L has not yet acted on the refusal
                await asyncio.wait_for(resume.wait(), 30)
            raise

    monkeypatch.setattr(posting, "fetch", pausing)

    def redeem(points: int):  # type: ignore[no-untyped-def]
        return ledger.redeem(resident, store_id=1, points=points, actor_id=resident, idempotency_key="K")

    loser = asyncio.create_task(redeem(twin_points))
    await asyncio.wait_for(refused.wait(), 30)
    winner = await redeem(POINTS)  # opens the account and posts the one transfer of K
    resume.set()
    assert not winner.replayed
    if twin_points == POINTS:
        replay = await loser
        assert replay.replayed and replay.transfer.id == winner.transfer.id
        assert [e.amount for e in replay.entries] == [e.amount for e in winner.entries]
    else:
        with pytest.raises(IdempotencyKeyConflict):
            await loser
    assert await Transfer.filter(idempotency_key="K").count() == 1
    assert await balance_of(world["resident"], Currency.POINT) == -POINTS
    assert (await verify()).ok
