"""A Hypothesis state machine over the real database: random earns, awards, redemptions, gifts, reversals,
replays, concurrent posts and tampering attempts, checked after every step against a model and against the
ledger's invariants: every transfer sums to zero per currency, balances equal the sum of entries (and the model),
running balances chain, no balance is below its floor, and entries never change.

The machine runs in a worker thread (Hypothesis is synchronous) and sends each database step to the test's
event loop, which owns the connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tortoise.exceptions import IntegrityError, OperationalError

from backend.ledger import service as ledger
from backend.ledger.exceptions import AlreadyReversed, GiftCapExceeded, InsufficientBalance
from backend.ledger.rules import CommunityRules, save
from backend.ledger.verify import verify
from backend.models.ledger import Currency, Transfer
from backend.models.user import Role
from tests.ledger.conftest import person, raw

PEOPLE = ("volunteer", "volunteer_b", "resident", "parent")
CREDIT_LIMIT_POINTS = 20
GIFT_CAP = 300
STEPS = {"total": 0}


class Context:
    loop: asyncio.AbstractEventLoop
    world: Any
    examples = 0

    def run(self, awaitable):  # type: ignore[no-untyped-def]
        async def wrapped():  # type: ignore[no-untyped-def]
            return await awaitable  # ORM querysets are awaitables, not coroutines

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout=60)


CTX = Context()


async def _accounts() -> dict[int, dict]:
    return {r["id"]: r for r in await raw("SELECT id, owner_kind, owner_id, currency, balance, min_balance "
                                          "FROM ledger_account")}


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        # Fresh people and a fresh store for every example: what a step does must depend only on the steps
        # before it in the same example (Hypothesis replays examples to shrink them).
        CTX.examples += 1
        self.people = {name: CTX.run(person(Role.RESIDENT, CTX.world.community, name=name,
                                            household=CTX.world.tree.household(0, 0, 0))).id
                       for name in PEOPLE}
        self.store = CTX.examples
        self.community = CTX.world.community
        CTX.run(ledger.open_store_account(self.store, community=self.community, name="爱心超市", actor_id=None))
        self.start_entry = CTX.run(raw("SELECT COALESCE(MAX(id), 0) AS m FROM ledger_entry"))[0]["m"]
        accounts = CTX.run(_accounts())
        self.start_balance = {a: r["balance"] for a, r in accounts.items()}
        self.model: Counter = Counter()  # (owner, currency) -> balance
        for r in accounts.values():
            self.model[(r["owner_kind"], r["owner_id"], r["currency"])] = r["balance"]
        self.gifted: Counter = Counter()
        self.posted: list[tuple[int, list]] = []  # (transfer id, [(owner key, currency, amount)])
        self.reversed: set[int] = set()
        self.keys: list[tuple[str, int, int]] = []  # redemptions that succeeded: (key, person, points)
        self.seen: dict[int, tuple] = {}
        self.serial = 0

    # ------------------------------------------------------------------------------------------ helpers

    def key(self) -> str:
        self.serial += 1
        return f"prop-{self.start_entry}-{self.serial}"

    def bal(self, kind: str, owner: int, currency: str) -> int:
        return self.model[(kind, owner, currency)]

    def record(self, posted) -> None:  # type: ignore[no-untyped-def]
        legs = [((e.owner.kind.value, e.owner.id), e.currency.value, e.amount) for e in posted.entries]
        if not posted.replayed:
            for (kind, owner), currency, amount in legs:
                self.model[(kind, owner, currency)] += amount
            self.posted.append((posted.transfer.id, legs))

    def step(self) -> None:
        STEPS["total"] += 1

    def affordable_points(self, person: int) -> int:
        return self.bal("user", person, "point") + CREDIT_LIMIT_POINTS

    # -------------------------------------------------------------------------------------------- rules

    @rule(who=st.sampled_from(PEOPLE), minutes=st.integers(1, 240))
    def earn(self, who: str, minutes: int) -> None:
        self.step()
        self.record(CTX.run(ledger.earn_activity(self.people[who], community=self.community, minutes=minutes)))

    @rule(who=st.sampled_from(PEOPLE), points=st.integers(1, 200))
    def award(self, who: str, points: int) -> None:
        self.step()
        outcome = CTX.run(ledger.award(self.people[who], community=self.community, currency=Currency.POINT,
                                       amount=points, reason="表彰", actor_id=CTX.world["staff"].id))
        self.record(outcome.posted)

    @rule(who=st.sampled_from(PEOPLE), points=st.integers(1, 60))
    def redeem(self, who: str, points: int) -> None:
        self.step()
        person, key = self.people[who], self.key()
        expected_ok = self.affordable_points(person) >= points
        try:
            posted = CTX.run(ledger.redeem(person, store_id=self.store, points=points, actor_id=person, idempotency_key=key))
        except InsufficientBalance:
            assert not expected_ok
            return
        assert expected_ok
        self.record(posted)
        self.keys.append((key, person, points))

    @precondition(lambda self: self.keys)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        self.step()
        key, person, points = data.draw(st.sampled_from(self.keys))
        posted = CTX.run(ledger.redeem(person, store_id=self.store, points=points, actor_id=person, idempotency_key=key))
        assert posted.replayed

    @rule(giver=st.sampled_from(PEOPLE), to=st.sampled_from(PEOPLE), minutes=st.integers(1, 120))
    def gift(self, giver: str, to: str, minutes: int) -> None:
        self.step()
        if giver == to:
            return
        g, r = self.people[giver], self.people[to]
        try:
            posted = CTX.run(ledger.gift_hours(g, r, minutes, relation="父母", actor_id=g, idempotency_key=self.key()))
        except InsufficientBalance:
            assert self.bal("user", g, "hour") < minutes
            return
        except GiftCapExceeded:
            assert self.bal("user", g, "hour") >= minutes and self.gifted[g] + minutes > GIFT_CAP
            return
        assert self.bal("user", g, "hour") >= minutes and self.gifted[g] + minutes <= GIFT_CAP
        self.gifted[g] += minutes
        self.record(posted)

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        self.step()
        transfer_id, legs = data.draw(st.sampled_from(self.posted))
        transfer = CTX.run(Transfer.get(id=transfer_id))
        if transfer.kind == "reversal":
            return
        floors_ok = all(
            kind in ("issuer",) or self.bal(kind, owner, currency) - amount >= self.floor(kind, currency)
            for (kind, owner), currency, amount in legs
        )
        try:
            posted = CTX.run(ledger.reverse(transfer, actor_id=CTX.world["staff"].id, reason="纠错"))
        except AlreadyReversed:
            assert transfer_id in self.reversed
            return
        except InsufficientBalance:
            assert transfer_id not in self.reversed and not floors_ok
            return
        assert transfer_id not in self.reversed and floors_ok
        self.reversed.add(transfer_id)
        if transfer.kind == "gift_to_family":
            giver = next(owner for (kind, owner), currency, amount in legs if amount < 0)
            self.gifted[giver] -= next(-amount for _, currency, amount in legs if amount < 0)
        self.record(posted)

    def floor(self, kind: str, currency: str) -> int:
        return -CREDIT_LIMIT_POINTS if kind == "user" and currency == "point" else 0

    @rule(who=st.sampled_from(PEOPLE), points=st.integers(1, 40), n=st.integers(2, 8))
    def concurrent_redemptions(self, who: str, points: int, n: int) -> None:
        """n redemptions of the same size at once from one person: exactly as many succeed as the balance allows."""
        self.step()
        person = self.people[who]
        expected = min(n, self.affordable_points(person) // points)

        async def storm():  # type: ignore[no-untyped-def]
            return await asyncio.gather(*(
                ledger.redeem(person, store_id=self.store, points=points, actor_id=person, idempotency_key=self.key())
                for _ in range(n)), return_exceptions=True)

        results = CTX.run(storm())
        ok = [r for r in results if not isinstance(r, BaseException)]
        assert all(isinstance(r, InsufficientBalance) for r in results if isinstance(r, BaseException))
        assert len(ok) == expected
        for posted in ok:
            self.record(posted)

    @rule(who=st.sampled_from(PEOPLE), points=st.integers(1, 40), n=st.integers(2, 8))
    def concurrent_same_key(self, who: str, points: int, n: int) -> None:
        """n identical posts with one key at once: one transfer, the others replay it."""
        self.step()
        person, key = self.people[who], self.key()
        affordable = self.affordable_points(person) >= points

        async def storm():  # type: ignore[no-untyped-def]
            return await asyncio.gather(*(
                ledger.redeem(person, store_id=self.store, points=points, actor_id=person, idempotency_key=key)
                for _ in range(n)), return_exceptions=True)

        results = CTX.run(storm())
        if not affordable:
            assert all(isinstance(r, InsufficientBalance) for r in results)
            return
        assert not any(isinstance(r, BaseException) for r in results), [repr(r) for r in results if isinstance(r, BaseException)]
        assert sorted(r.replayed for r in results) == [False] + [True] * (n - 1)
        assert len({r.transfer.id for r in results}) == 1
        self.record(next(r for r in results if not r.replayed))
        self.keys.append((key, person, points))

    @rule(minutes=st.lists(st.integers(1, 120), min_size=2, max_size=4))
    def concurrent_earns(self, minutes: list[int]) -> None:
        self.step()
        people = [self.people[p] for p in PEOPLE][: len(minutes)]

        async def storm():  # type: ignore[no-untyped-def]
            return await asyncio.gather(*(ledger.earn_activity(p, community=self.community, minutes=m)
                                          for p, m in zip(people, minutes, strict=True)))

        for posted in CTX.run(storm()):
            self.record(posted)

    @precondition(lambda self: self.seen)
    @rule(data=st.data(), sql=st.sampled_from([
        "UPDATE ledger_entry SET amount = amount + 1 WHERE id = $1",
        "UPDATE ledger_entry SET balance_after = 0 WHERE id = $1",
        "DELETE FROM ledger_entry WHERE id = $1",
    ]))
    def tamper(self, data: st.DataObject, sql: str) -> None:
        self.step()
        entry_id = data.draw(st.sampled_from(sorted(self.seen)))
        try:
            CTX.run(raw(sql, [entry_id]))
        except (IntegrityError, OperationalError):
            return
        raise AssertionError(f"the database let {sql!r} through")

    # ------------------------------------------------------------------------------------------ invariants

    @invariant()
    def ledger_is_consistent(self) -> None:
        if not hasattr(self, "start_entry"):
            return
        entries = CTX.run(raw("SELECT id, transfer_id, account_id, currency, amount, balance_after "
                              "FROM ledger_entry WHERE id > $1 ORDER BY id", [self.start_entry]))
        accounts = CTX.run(_accounts())
        per_transfer: Counter = Counter()
        running = dict(self.start_balance)
        for e in entries:
            per_transfer[(e["transfer_id"], e["currency"])] += e["amount"]
            expected = running.get(e["account_id"], 0) + e["amount"]
            assert e["balance_after"] == expected, f"running balance broken at entry {e['id']}"
            running[e["account_id"]] = expected
            snapshot = (e["transfer_id"], e["account_id"], e["amount"], e["balance_after"])
            assert self.seen.setdefault(e["id"], snapshot) == snapshot, f"entry {e['id']} changed"
        assert len(self.seen) == len(entries), "an entry disappeared"
        assert not [k for k, s in per_transfer.items() if s != 0], "a transfer does not sum to zero"
        for account_id, a in accounts.items():
            assert a["balance"] == running.get(account_id, 0), f"account {account_id} != sum of its entries"
            assert a["min_balance"] is None or a["balance"] >= a["min_balance"], f"account {account_id} below floor"
            assert a["balance"] == self.model[(a["owner_kind"], a["owner_id"], a["currency"])]


@pytest.mark.slow
async def test_the_ledger_keeps_its_invariants_under_random_operations(world):
    await save(world.community.id, CommunityRules(credit_limit_points=CREDIT_LIMIT_POINTS,
                                                  gift_yearly_cap_minutes=GIFT_CAP), actor_id=world["staff"].id)
    CTX.loop, CTX.world, CTX.examples, STEPS["total"] = asyncio.get_running_loop(), world, 0, 0
    config = settings(max_examples=140, stateful_step_count=100, deadline=None, derandomize=False,
                      suppress_health_check=list(HealthCheck), database=None)
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: run_state_machine_as_test(LedgerMachine, settings=config)
    )
    assert STEPS["total"] >= 10_000, STEPS
    print(f"ledger state machine: {CTX.examples} examples, {STEPS['total']} steps")
    report = await verify()
    assert report.ok, report.problems[:5]
