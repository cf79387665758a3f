"""The posting engine: double entry, running balances, idempotency, floors, and nothing written on failure."""

from __future__ import annotations

import pytest

from backend.core.db import atomic
from backend.ledger import service as ledger
from backend.ledger.exceptions import IdempotencyKeyConflict, InsufficientBalance, UnbalancedTransfer
from backend.ledger.rules import CommunityRules, TaskKind, save
from backend.ledger.types import Leg, issuer, user
from backend.models.ledger import Account, Currency, Entry, OwnerKind, Transfer, TransferKind
from tests.ledger.conftest import award_points, balance_of, credit, ledger_counts, person


class TestEarning:
    async def test_a_delivery_earns_minutes_by_distance_and_points_at_the_rate(self, world):
        posted = await ledger.earn_service(world["volunteer"].id, community=world.community, task_id=42,
                                           task_kind=TaskKind.DELIVERY, distance_m=2300)
        # default rules: 30 min + 10 min per started km (3) = 60 min, 10 points per hour = 10 points
        assert {(e.owner, e.currency, e.amount) for e in posted.entries} == {
            (user(world["volunteer"].id), Currency.HOUR, 60), (issuer(world.community.id), Currency.HOUR, -60),
            (user(world["volunteer"].id), Currency.POINT, 10), (issuer(world.community.id), Currency.POINT, -10),
        }
        assert await balance_of(world["volunteer"], Currency.HOUR) == 60
        assert await balance_of(world["volunteer"], Currency.POINT) == 10
        hours = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        assert hours.earned == 60 and hours.min_balance == 0
        issuing = await Account.get(owner_kind=OwnerKind.ISSUER, owner_id=world.community.id, currency=Currency.HOUR)
        assert issuing.balance == -60 and issuing.min_balance is None
        assert posted.transfer.community_id == world.community.id

    async def test_a_task_credits_a_volunteer_once_whatever_the_caller_retries(self, world):
        first = await ledger.earn_service(world["volunteer"].id, community=world.community, task_id=7, minutes=45)
        again = await ledger.earn_service(world["volunteer"].id, community=world.community, task_id=7, minutes=45)
        assert again.replayed and again.transfer.id == first.transfer.id
        assert await balance_of(world["volunteer"], Currency.HOUR) == 45
        assert await ledger_counts() == (1, 4)

    async def test_the_same_task_with_other_minutes_is_refused_not_credited_twice(self, world):
        await ledger.earn_service(world["volunteer"].id, community=world.community, task_id=7, minutes=45)
        with pytest.raises(IdempotencyKeyConflict):
            await ledger.earn_service(world["volunteer"].id, community=world.community, task_id=7, minutes=90)
        assert await balance_of(world["volunteer"], Currency.HOUR) == 45

    async def test_entries_carry_the_running_balance(self, world):
        for minutes in (30, 45, 60):
            await credit(world["volunteer"], community=world.community, minutes=minutes)
        await ledger.pay_service(world["volunteer"].id, 50, community=world.community, task_id=1)
        account = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        entries = await Entry.filter(account_id=account.id).order_by("id")
        assert [(e.amount, e.balance_after) for e in entries] == [(30, 30), (45, 75), (60, 135), (-50, 85)]
        assert account.balance == 85 and account.earned == 135  # spending does not lower lifetime hours


class TestRefusals:
    async def test_a_debit_below_the_floor_is_refused_and_nothing_is_written(self, world):
        await award_points(world["resident"], community=world.community, points=30, actor=world["staff"])
        before = await ledger_counts()
        await ledger.open_store_account(1, community=world.community, name="爱心超市", actor_id=world["staff"].id)
        with pytest.raises(InsufficientBalance) as caught:
            await ledger.redeem(world["resident"].id, store_id=1, points=31, actor_id=world["resident"].id,
                                idempotency_key="k1")
        assert caught.value.detail == {"currency": "point", "needed": 31, "balance": 30, "min_balance": 0}
        assert await ledger_counts() == before
        assert await balance_of(world["resident"], Currency.POINT) == 30

    async def test_a_community_credit_limit_lets_balances_go_that_far_below_zero(self, world):
        await save(world.community.id, CommunityRules(credit_limit_points=20), actor_id=world["staff"].id)
        await ledger.open_store_account(1, community=world.community, name="爱心超市", actor_id=None)
        await ledger.redeem(world["resident"].id, store_id=1, points=20, actor_id=None, idempotency_key="a")
        assert await balance_of(world["resident"], Currency.POINT) == -20
        with pytest.raises(InsufficientBalance):
            await ledger.redeem(world["resident"].id, store_id=1, points=1, actor_id=None, idempotency_key="b")

    @pytest.mark.parametrize("legs", [
        [Leg(user(1), Currency.HOUR, 10)],
        [Leg(user(1), Currency.HOUR, 10), Leg(user(2), Currency.HOUR, -9)],
        [Leg(user(1), Currency.HOUR, 10), Leg(user(2), Currency.POINT, -10)],
        [Leg(user(1), Currency.HOUR, 0), Leg(user(2), Currency.HOUR, 0)],
        [Leg(user(1), Currency.HOUR, 10), Leg(user(1), Currency.HOUR, -10)],
    ])
    async def test_unbalanced_or_degenerate_transfers_are_refused(self, world, legs):
        with pytest.raises(UnbalancedTransfer):
            await ledger.post(TransferKind.AWARD, legs, reason="坏数据")
        assert await ledger_counts() == (0, 0)

    async def test_a_refused_posting_inside_a_callers_transaction_rolls_back_only_itself(self, world):
        await ledger.open_store_account(1, community=world.community, name="爱心超市", actor_id=None)
        async with atomic():
            await award_points(world["resident"], community=world.community, points=5, actor=world["staff"])
            with pytest.raises(InsufficientBalance):
                await ledger.redeem(world["resident"].id, store_id=1, points=50, actor_id=None, idempotency_key="x")
            await ledger.redeem(world["resident"].id, store_id=1, points=5, actor_id=None, idempotency_key="y")
        assert await balance_of(world["resident"], Currency.POINT) == 0
        assert await Transfer.filter(kind=TransferKind.REDEEM_GOODS).count() == 1

    async def test_a_callers_failure_after_posting_takes_the_posting_with_it(self, world):
        with pytest.raises(RuntimeError):
            async with atomic():
                await credit(world["volunteer"], community=world.community, minutes=30, key="k")
                raise RuntimeError("the delivery domain failed afterwards")
        assert await ledger_counts() == (0, 0)
        assert await balance_of(world["volunteer"], Currency.HOUR) == 0
        await credit(world["volunteer"], community=world.community, minutes=30, key="k")  # the key is free again
        assert await balance_of(world["volunteer"], Currency.HOUR) == 30


class TestAccounts:
    async def test_people_open_accounts_with_their_home_communitys_credit_limit(self, world):
        await save(world.community.id, CommunityRules(credit_limit_minutes=30), actor_id=world["staff"].id)
        await credit(world["volunteer"], community=world.other_community, minutes=10)
        hours = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        assert hours.min_balance == -30  # the volunteer's own community, not where the hours were earned

    async def test_someone_without_a_community_gets_the_default_floor(self, world):
        loner = await person(None, None, name="无社区")
        await credit(loner, community=world.community, minutes=10)
        assert (await Account.get(owner_id=loner.id, owner_kind=OwnerKind.USER, currency=Currency.HOUR)).min_balance == 0
