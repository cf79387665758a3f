"""The policy as data: slots in Beijing time, the most frequent matching rule, and the saved policy's routes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.models.audit import AuditLog
from backend.visits.policy import DEFAULT_RULES, Policy, Rule, status
from tests.visits.conftest import V, local

WEEKLY = Rule("独居老人", ("is_elderly", "is_living_alone"), "week", 1)
TWICE = Rule("困难家庭", ("is_hardship",), "month", 2)
MONTHLY = Rule("全部住户", (), "month", 1)


def _bj(slot) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from backend.core.timeutil import to_local

    return f"{to_local(slot.start):%Y-%m-%d %H:%M}", f"{to_local(slot.end):%Y-%m-%d %H:%M}"


class TestSlots:
    def test_a_week_runs_monday_to_monday_in_beijing_time(self):
        # 2026-11-18 is a Wednesday; 01:30 in Beijing is still Tuesday 17:30 UTC
        assert _bj(WEEKLY.slot(local(2026, 11, 18, 1, 30))) == ("2026-11-16 00:00", "2026-11-23 00:00")
        assert _bj(WEEKLY.slot(local(2026, 11, 16, 0, 0))) == ("2026-11-16 00:00", "2026-11-23 00:00")
        assert _bj(WEEKLY.slot(local(2026, 11, 15, 23, 59))) == ("2026-11-09 00:00", "2026-11-16 00:00")

    def test_twice_a_month_splits_the_month_by_days(self):
        assert _bj(TWICE.slot(local(2026, 11, 15, 23))) == ("2026-11-01 00:00", "2026-11-16 00:00")
        assert _bj(TWICE.slot(local(2026, 11, 16, 0))) == ("2026-11-16 00:00", "2026-12-01 00:00")
        assert _bj(TWICE.slot(local(2027, 2, 20))) == ("2027-02-15 00:00", "2027-03-01 00:00")  # 28 days: 14 + 14

    def test_the_previous_slot_crosses_months_and_years(self):
        assert _bj(MONTHLY.previous(MONTHLY.slot(local(2027, 1, 5)))) == ("2026-12-01 00:00", "2027-01-01 00:00")
        assert _bj(TWICE.previous(TWICE.slot(local(2026, 11, 3)))) == ("2026-10-16 00:00", "2026-11-01 00:00")

    def test_three_times_a_week(self):
        rule = Rule("x", (), "week", 3)  # days [0,2) [2,4) [4,7)
        assert _bj(rule.slot(local(2026, 11, 19, 12))) == ("2026-11-18 00:00", "2026-11-20 00:00")
        assert _bj(rule.slot(local(2026, 11, 22, 23))) == ("2026-11-20 00:00", "2026-11-23 00:00")

    def test_slots_are_utc_instants(self):
        slot = MONTHLY.slot(local(2026, 11, 18))
        assert slot.start == datetime(2026, 10, 31, 16, tzinfo=UTC)


class TestRules:
    def test_the_most_frequent_matching_rule_wins(self):
        policy = Policy(rules=DEFAULT_RULES, fence_m=150)
        alone = {"is_elderly": True, "is_living_alone": True, "is_hardship": True}
        assert policy.rule_for(alone) is DEFAULT_RULES[0]
        assert policy.rule_for({"is_elderly": True, "is_living_alone": False, "is_hardship": True}) is DEFAULT_RULES[1]
        assert policy.rule_for({"is_elderly": True, "is_living_alone": False, "is_hardship": False}) is DEFAULT_RULES[2]

    def test_no_catch_all_means_no_requirement(self):
        policy = Policy(rules=(TWICE,), fence_m=150)
        assert policy.rule_for({"is_hardship": False}) is None

    @pytest.mark.parametrize(("visits", "assigned", "expected"), [
        ([], local(2026, 10, 1), "overdue"),  # nobody came in October
        ([local(2026, 10, 20)], local(2026, 10, 1), "due"),
        ([local(2026, 11, 2)], local(2026, 10, 1), "done"),
        ([], local(2026, 10, 5), "due"),  # assigned during October: not held against anyone
        ([], None, "overdue"),
    ])
    def test_status(self, visits, assigned, expected):
        assert status(MONTHLY, local(2026, 11, 18), assigned_at=assigned, visits=visits)[0] == expected


class TestPolicyRoutes:
    async def test_default_until_saved_then_versioned_and_audited(self, client, world):
        url = f"{V}/policies/{world.tree.community(0).id}"
        got = (await client.get(url, headers=world.headers["staff"])).json()
        assert got["is_default"] and got["version"] == 0 and [r["cadence"] for r in got["rules"]] == [
            "每周1次", "每月2次", "每月1次"]
        rules = [{"name": "残疾人", "flags": ["is_disabled"], "per": "week", "times": 2},
                 {"name": "全部", "per": "month", "times": 1}]
        resp = await client.put(url, json={"rules": rules, "fence_m": 200, "version": 0}, headers=world.headers["staff"])
        assert resp.status_code == 200 and resp.json()["version"] == 1 and resp.json()["fence_m"] == 200
        stale = await client.put(url, json={"rules": rules, "fence_m": 300, "version": 0}, headers=world.headers["staff"])
        assert stale.status_code == 409 and stale.json()["error"] == "PolicyChanged"
        assert await AuditLog.filter(action="visits:policy").count() == 1

    @pytest.mark.parametrize("bad", [
        {"rules": [], "fence_m": 150},
        {"rules": [{"name": "x", "per": "week", "times": 8}], "fence_m": 150},
        {"rules": [{"name": "x", "per": "day", "times": 1}], "fence_m": 150},
        {"rules": [{"name": "x", "flags": ["is_rich"], "per": "month", "times": 1}], "fence_m": 150},
        {"rules": [{"name": "x", "per": "month", "times": 1}], "fence_m": 5},
    ])
    async def test_bad_policies_are_refused_and_nothing_saved(self, client, world, bad):
        url = f"{V}/policies/{world.tree.community(0).id}"
        resp = await client.put(url, json=bad, headers=world.headers["staff"])
        assert resp.status_code == 422 and set(resp.json()) == {"error", "message", "detail"}
        assert (await client.get(url, headers=world.headers["staff"])).json()["is_default"]
