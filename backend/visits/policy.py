"""Visit policy as data: which households are visited how often, and what "due" and "overdue" mean.

A policy is a list of rules. A rule names the household flags it applies to (all of them must be set; no flags:
every household) and a cadence: ``times`` visits ``per`` week or month. A household follows the most frequent
rule it matches (ties: the first listed). The period (a Monday-to-Sunday week, or a calendar month, in Beijing
time) is cut into ``times`` slots of whole days, so "twice a month" means once in days 1–15 and once in 16–end.

For one household, with ``now`` in slot S and P the slot before it:
- done     — an at-home visit (not rejected on review) falls in S;
- overdue  — not done, and the household was assigned for the whole of P and nobody visited it then;
- due      — otherwise (to be visited before S ends).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.core.timeutil import SHANGHAI

FLAGS = ("is_elderly", "is_living_alone", "is_disabled", "is_low_income", "is_hardship")
FLAG_LABELS = {"is_elderly": "高龄", "is_living_alone": "独居", "is_disabled": "残疾", "is_low_income": "低保",
               "is_hardship": "困难"}
PERIODS = {"week": 7, "month": 30}  # nominal days, to compare cadences
PER_LABELS = {"week": "每周", "month": "每月"}
MAX_TIMES = {"week": 7, "month": 8}


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Rule:
    name: str
    flags: tuple[str, ...]
    per: str
    times: int

    @property
    def nominal_days(self) -> float:
        return PERIODS[self.per] / self.times

    @property
    def cadence(self) -> str:
        return f"{PER_LABELS[self.per]}{self.times}次"

    def matches(self, household: Any) -> bool:
        return all(_flag(household, f) for f in self.flags)

    def slot(self, moment: datetime) -> Slot:
        """The slot ``moment`` falls in."""
        local = moment.astimezone(SHANGHAI)
        day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.per == "week":
            start = day0 - timedelta(days=local.weekday())
            days = 7
        else:
            start = day0.replace(day=1)
            days = calendar.monthrange(local.year, local.month)[1]
        offset = (day0 - start).days
        index = next(i for i in range(self.times) if offset < (i + 1) * days // self.times)
        # Wall-clock arithmetic in Beijing time (no DST), converted to UTC at the end.
        slot_start = start + timedelta(days=index * days // self.times)
        slot_end = start + timedelta(days=(index + 1) * days // self.times)
        return Slot(slot_start.astimezone(UTC), slot_end.astimezone(UTC))

    def previous(self, slot: Slot) -> Slot:
        return self.slot(slot.start - timedelta(microseconds=1))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flags": list(self.flags), "per": self.per, "times": self.times}


def _flag(household: Any, name: str) -> bool:
    return bool(household[name] if isinstance(household, dict) else getattr(household, name))


DEFAULT_RULES = (
    Rule("独居老人", ("is_elderly", "is_living_alone"), "week", 1),
    Rule("困难家庭", ("is_hardship",), "month", 2),
    Rule("全部住户", (), "month", 1),
)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    fence_m: int
    version: int = 0  # 0: the default (no policy saved for the community)

    def rule_for(self, household: Any) -> Rule | None:
        """The most frequent rule the household matches (the first listed among equals), or None."""
        best: Rule | None = None
        for rule in self.rules:
            if rule.matches(household) and (best is None or rule.nominal_days < best.nominal_days):
                best = rule
        return best


def rules_from(data: list[dict[str, Any]]) -> tuple[Rule, ...]:
    return tuple(Rule(name=r["name"], flags=tuple(r.get("flags") or ()), per=r["per"], times=int(r["times"]))
                 for r in data)


def status(rule: Rule, now: datetime, *, assigned_at: datetime | None, visits: list[datetime]) -> tuple[str, Slot]:
    """(done | due | overdue, the current slot) for one household, from its counted visit times."""
    current = rule.slot(now)
    return status_in(current, rule.previous(current), assigned_at=assigned_at, visits=visits), current


def status_in(current: Slot, previous: Slot, *, assigned_at: datetime | None, visits: list[datetime]) -> str:
    """The same with the slots already worked out (a plan computes them once per rule, not per household)."""
    if any(current.holds(v) for v in visits):
        return "done"
    required = assigned_at is None or assigned_at <= previous.start
    if required and not any(previous.holds(v) for v in visits):
        return "overdue"
    return "due"


def window_start(rules: tuple[Rule, ...] | list[Rule], now: datetime) -> datetime:
    """The earliest moment any rule's previous slot starts: visits before it cannot change a status."""
    return min((r.previous(r.slot(now)).start for r in rules), default=now)
