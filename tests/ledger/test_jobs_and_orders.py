"""Scheduled work (monthly allowances, expiry) and the order flow other domains use (reserve → redeem/release)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.timeutil import utcnow
from backend.ledger import jobs
from backend.ledger import service as ledger
from backend.ledger.exceptions import IdempotencyKeyConflict, InsufficientBalance, NothingReserved
from backend.ledger.rules import CommunityRules, save
from backend.ledger.types import Leg, escrow, user
from backend.models.ledger import Account, Currency, Entry, OwnerKind, Transfer, TransferKind
from backend.models.outbox import OutboxEvent
from backend.outbox import registry
from backend.users.merge import run_merge_hooks
from tests.ledger.conftest import award_points, balance_of, credit, person, raw


class TestMonthlyAllowance:
    @pytest.fixture
    async def rules(self, world):  # type: ignore[no-untyped-def]
        rules = CommunityRules(allowance_points={"is_elderly": 30, "is_disabled": 50}, allowance_max_points=60)
        await save(world.community.id, rules, actor_id=world["staff"].id)
        return rules

    async def test_eligible_households_are_paid_once_a_month_to_their_first_resident(self, world, rules):
        # the builder marks the first household of each grid elderly: grid (0,0) -> "resident", grid (0,1) -> volunteer_b
        household = world.tree.household(0, 1, 0)
        household.is_disabled = True
        await household.save()
        report = await jobs.pay_monthly_allowances("2026-11")
        assert (report.paid, report.points) == (2, 30 + 60)
        assert await balance_of(world["resident"], Currency.POINT) == 30
        assert await balance_of(world["volunteer_b"], Currency.POINT) == 60  # 30 + 50, capped at 60
        again = await jobs.pay_monthly_allowances("2026-11")
        assert (again.paid, again.already_paid) == (0, 2)
        assert (await jobs.pay_monthly_allowances("2026-12")).paid == 2
        transfer = await Transfer.get(idempotency_key=f"allowance:{world.tree.household(0, 0, 0).id}:2026-11")
        assert transfer.kind == TransferKind.ALLOWANCE and "高龄" in transfer.reason
        assert transfer.grid_id == world.tree.grid(0, 0).id

    async def test_other_communities_without_rules_pay_nothing(self, world, rules):
        await jobs.pay_monthly_allowances("2026-11")
        assert await balance_of(world["outsider"], Currency.POINT) == 0

    async def test_a_household_without_a_registered_resident_is_counted_not_paid(self, world, rules):
        household = world.tree.household(0, 0, 0)
        await raw("UPDATE app_user SET household_id = NULL WHERE household_id = $1", [household.id])
        report = await jobs.pay_monthly_allowances("2026-11")
        assert report.no_resident == 1

    async def test_two_workers_at_once_pay_once(self, world, rules):
        import asyncio

        await asyncio.gather(*(jobs.pay_monthly_allowances("2026-11") for _ in range(4)))
        assert await balance_of(world["resident"], Currency.POINT) == 30

    async def test_the_job_is_registered_to_run_daily_through_the_outbox(self, world, rules):
        registry.load_all()
        job = next(j for j in registry.periodic_jobs() if j.kind == "ledger.monthly_allowance")
        assert job.every == timedelta(days=1)
        event = await OutboxEvent.create(kind=job.kind, payload={"month": "2026-10"}, run_at=utcnow())
        await registry.get_handler(job.kind)(event)
        assert await balance_of(world["resident"], Currency.POINT) == 30


class TestExpiry:
    async def test_off_by_default(self, world):
        await credit(world["volunteer"], community=world.community, minutes=60)
        assert await jobs.expire_hours(utcnow() + timedelta(days=365 * 10)) == 0

    async def test_unspent_hours_older_than_n_years_expire_oldest_first(self, world):
        await save(world.community.id, CommunityRules(expiry_years=2, points_per_hour=0), actor_id=world["staff"].id)
        await credit(world["volunteer"], community=world.community, minutes=100)
        await credit(world["volunteer"], community=world.community, minutes=50)
        await ledger.pay_service(world["volunteer"].id, 30, community=world.community, task_id=1)
        assert await jobs.expire_hours(utcnow() + timedelta(days=365)) == 0  # not old enough yet
        later = utcnow() + timedelta(days=3 * 366)
        assert await jobs.expire_hours(later) == 1
        assert await balance_of(world["volunteer"], Currency.HOUR) == 0  # 150 earned - 30 spent, all old
        assert await jobs.expire_hours(later) == 0  # nothing left, and the key is spent
        expire = await Transfer.get(kind=TransferKind.EXPIRE)
        assert sorted(e.amount for e in await Entry.filter(transfer_id=expire.id)) == [-120, 120]
        account = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
        assert account.earned == 150  # expiry does not erase service done


class TestOrders:
    @pytest.fixture
    async def funded(self, world):  # type: ignore[no-untyped-def]
        await award_points(world["resident"], community=world.community, points=100, actor=world["staff"])
        await ledger.open_store_account(5, community=world.community, name="爱心超市", actor_id=None)

    async def test_reserve_then_redeem_moves_points_to_the_store_once(self, world, funded):
        await ledger.reserve_points(world["resident"].id, 40, community=world.community, order_id=77, actor_id=None)
        assert await balance_of(world["resident"], Currency.POINT) == 60
        held = await Account.get(owner_kind=OwnerKind.HOLD, owner_id=world["resident"].id)
        assert (held.balance, held.min_balance) == (40, 0)  # the person's own hold account, not a shared escrow
        await ledger.redeem_reserved(77, store_id=5, resident_id=world["resident"].id, actor_id=None)
        again = await ledger.redeem_reserved(77, store_id=5, resident_id=world["resident"].id, actor_id=None)
        assert again.replayed
        store = await Account.get(owner_kind=OwnerKind.STORE, owner_id=5)
        await held.refresh_from_db()
        assert (store.balance, held.balance) == (40, 0)
        assert not await Account.exists(owner_kind=OwnerKind.ESCROW)
        with pytest.raises(IdempotencyKeyConflict, match="已结算"):
            await ledger.release_reserved(77, resident_id=world["resident"].id, actor_id=None)

    async def test_a_cancelled_order_gives_the_points_back(self, world, funded):
        await ledger.reserve_points(world["resident"].id, 40, community=world.community, order_id=78, actor_id=None)
        await ledger.release_reserved(78, resident_id=world["resident"].id, actor_id=None)
        assert await balance_of(world["resident"], Currency.POINT) == 100
        with pytest.raises(IdempotencyKeyConflict):
            await ledger.redeem_reserved(78, store_id=5, resident_id=world["resident"].id, actor_id=None)

    async def test_an_order_reserved_in_the_communitys_escrow_before_adr_27_still_settles_from_it(
        self, world, funded
    ):
        resident = world["resident"].id
        await ledger.post(  # what reserve_points posted until 2026-12-07
            TransferKind.RESERVE,
            [Leg(user(resident), Currency.POINT, -30), Leg(escrow(world.community.id), Currency.POINT, 30)],
            reason="订单 #81 冻结积分", idempotency_key=ledger.reserve_key(81), link=("order", 81),
        )
        await ledger.release_reserved(81, resident_id=resident, actor_id=None)
        escrow_account = await Account.get(owner_kind=OwnerKind.ESCROW, owner_id=world.community.id)
        assert escrow_account.balance == 0 and await balance_of(world["resident"], Currency.POINT) == 100
        assert not await Account.exists(owner_kind=OwnerKind.HOLD)

    async def test_reserving_more_than_the_balance_is_refused(self, world, funded):
        with pytest.raises(InsufficientBalance):
            await ledger.reserve_points(world["resident"].id, 101, community=world.community, order_id=79,
                                        actor_id=None)
        with pytest.raises(NothingReserved):
            await ledger.redeem_reserved(79, store_id=5, resident_id=world["resident"].id, actor_id=None)


class TestMerge:
    async def test_an_open_order_of_a_merged_placeholder_settles_with_the_real_person(self, world):
        """Staff registered a placeholder for a resident and ordered for it; the resident then bound the phone.
        The order and its held points move to the real account: a cancel refunds the real account, and a
        second order settled after the merge pays the store from the real person's hold."""
        import backend.tasks.fulfilment  # noqa: F401 - registers the hook that moves orders

        placeholder = await person(None, None, name="电话登记")
        await award_points(placeholder, community=world.community, points=100, actor=world["staff"])
        await ledger.open_store_account(5, community=world.community, name="爱心超市", actor_id=None)
        for order_id, points in ((91, 30), (92, 20)):
            await ledger.reserve_points(placeholder.id, points, community=world.community, order_id=order_id,
                                        actor_id=world["staff"].id)
        real = world["resident"].id
        await run_merge_hooks(placeholder.id, real)
        held = {a.owner_id: a.balance for a in await Account.filter(owner_kind=OwnerKind.HOLD)}
        assert held == {placeholder.id: 0, real: 50}
        assert await balance_of(world["resident"], Currency.POINT) == 50  # what was free moved too

        await ledger.release_reserved(91, resident_id=real, actor_id=world["staff"].id)
        await ledger.redeem_reserved(92, store_id=5, resident_id=real, actor_id=None)
        assert await balance_of(world["resident"], Currency.POINT) == 80
        assert await balance_of(placeholder, Currency.POINT) == 0
        assert {a.owner_id: a.balance for a in await Account.filter(owner_kind=OwnerKind.HOLD)} == {
            placeholder.id: 0, real: 0
        }
        assert (await Account.get(owner_kind=OwnerKind.STORE, owner_id=5)).balance == 20

    async def test_a_merged_placeholders_balances_follow_the_person(self, world):
        placeholder = await person(None, None, name="微信新号")
        await credit(placeholder, community=world.community, minutes=90)
        await run_merge_hooks(placeholder.id, world["resident"].id)
        assert await balance_of(world["resident"], Currency.HOUR) == 90
        assert await balance_of(world["resident"], Currency.POINT) == 15
        assert await balance_of(placeholder, Currency.HOUR) == 0
        assert await Transfer.filter(kind=TransferKind.MERGE).count() == 2
