"""A visitor's plan: their households, each overdue, due or done under its community's policy, nearest first.

Three constant queries whatever the number of households: the assignments with their buildings (one join), the
counted visits since the earliest slot any status depends on, and each household's last visit. Visits by anyone count
for the plan (a household visited by the grid worker this week need not be visited again); the 台账 counts the
visitor's own visits (``stats.py``).
"""

from __future__ import annotations

from datetime import datetime

from backend.core.timeutil import utcnow
from backend.visits import checks, repository
from backend.visits.policies import policies_for
from backend.visits.policy import FLAGS, Rule, Slot, status_in, window_start
from backend.visits.schemas import PlanCounts, PlanItem, PlanOut, PlanPolicy, RuleOut

ORDER = {"overdue": 0, "due": 1, "done": 2, "none": 3}
LABELS = {"overdue": "已逾期", "due": "待走访", "done": "已走访", "none": "无走访要求"}


async def plan(visitor_id: int, *, default_fence: int, lat: float | None = None, lng: float | None = None,
               now: datetime | None = None) -> PlanOut:
    now = now or utcnow()
    rows = await repository.plan_rows(visitor_id)
    policies = await policies_for({r["community_id"] for r in rows}, default_fence)
    chosen: dict[tuple, Rule | None] = {}  # households share a handful of flag combinations: decide each once
    rules: dict[int, Rule | None] = {}
    for r in rows:
        key = (r["community_id"], *(bool(r[f]) for f in FLAGS))
        if key not in chosen:
            chosen[key] = policies[r["community_id"]].rule_for(r)
        rules[r["household_id"]] = chosen[key]
    used = {rule for rule in rules.values() if rule is not None}
    slots: dict[Rule, tuple[Slot, Slot]] = {}
    for rule in used:
        current = rule.slot(now)
        slots[rule] = (current, rule.previous(current))
    times = await repository.visit_times(visitor_id, window_start(list(used), now)) if used else {}
    last = await repository.last_visits(visitor_id) if rows else {}
    items = []
    for r in rows:
        hid, rule = r["household_id"], rules[r["household_id"]]
        visits = times.get(hid, [])
        counted = [t for t, home in visits if home]
        slot = slots[rule][0] if rule is not None else None
        state = "none" if rule is None else status_in(*slots[rule], assigned_at=r["assigned_at"], visits=counted)
        in_slot = [home for t, home in visits if slot is not None and slot.holds(t)]
        distance = None
        if lat is not None and lng is not None and r["lat"] is not None and r["lng"] is not None:
            distance = round(checks.distance_m(lat, lng, r["lat"], r["lng"]))
        items.append(PlanItem(
            household_id=hid, label=f"{r['building_name']} {r['door_no']}", building_id=r["building_id"],
            status=state, status_label=LABELS[state], cadence=rule.cadence if rule else None,
            due_by=slot.end if slot else None, distance_m=distance, lat=r["lat"], lng=r["lng"],
            last_visited_at=last.get(hid), visits_in_slot=sum(in_slot), attempts_in_slot=len(in_slot) - sum(in_slot),
        ))
    far = float("inf")
    items.sort(key=lambda i: (ORDER[i.status], far if i.distance_m is None else i.distance_m, i.label))
    counts = {k: sum(1 for i in items if i.status == k) for k in ORDER}
    return PlanOut(
        as_of=now, visitor_id=visitor_id, counts=PlanCounts(**counts, total=len(items)), items=items,
        policies=[PlanPolicy(community_id=cid, fence_m=p.fence_m, rules=[
            RuleOut(name=r.name, flags=list(r.flags), per=r.per, times=r.times, cadence=r.cadence) for r in p.rules])
            for cid, p in sorted(policies.items(), key=lambda kv: kv[0] or 0)],
    )


async def counts(visitor_id: int, *, now: datetime | None = None) -> PlanCounts:
    """Overdue / due / done counts only (for reminders); the fence does not matter here."""
    return (await plan(visitor_id, default_fence=0, now=now)).counts
