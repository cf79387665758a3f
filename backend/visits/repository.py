"""Queries of the visits domain. Lists and lookups start from a ``Scope`` (or from the caller's own id: a visitor's
own assignments and visits); the 台账 aggregates are in ``stats.py``, the plan's hot query is hand-written SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from backend.core import sql
from backend.models.org import Household, OrgUnit
from backend.models.user import RoleGrant, User
from backend.models.visits import (
    Assignment,
    AssignmentSpan,
    HouseholdChange,
    HouseholdMember,
    HouseholdProfile,
    MonthStatus,
    Visit,
    VisitMonth,
    VisitPolicy,
    VisitProblem,
)
from backend.org.scope import Scope
from backend.visits.enums import VISITOR_ROLES


def as_datetime(value: Any) -> datetime | None:
    """A timestamp from hand-written SQL: asyncpg gives datetimes, SQLite the ISO text Tortoise stored (UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ households


async def household(scope: Scope, household_id: int) -> Household | None:
    return await scope.filter(Household.filter(id=household_id)).select_related("building").first()


async def assigned_household(visitor_id: int, household_id: int) -> Household | None:
    """The household, if it is assigned to this visitor (the assignment is what lets a party member see it)."""
    if not await Assignment.exists(household_id=household_id, visitor_id=visitor_id):
        return None
    return await Household.filter(id=household_id).select_related("building").first()


async def households_by_ids(scope: Scope, ids: Iterable[int]) -> list[Household]:
    return await scope.filter(Household.filter(id__in=sorted(set(ids)))).order_by("id")


async def labels(household_ids: Iterable[int]) -> dict[int, str]:
    """"3号楼 1单元101" for each household."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    rows = await Household.filter(id__in=ids).values("id", "door_no", "building__name")
    return {r["id"]: f"{r['building__name']} {r['door_no']}" for r in rows}


async def user_names(user_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    return dict(await User.filter(id__in=ids).values_list("id", "name"))


async def unit_names(unit_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in unit_ids if i})
    if not ids:
        return {}
    return dict(await OrgUnit.filter(id__in=ids).values_list("id", "name"))


async def unit(scope: Scope, unit_id: int) -> OrgUnit | None:
    return await scope.filter(OrgUnit.filter(id=unit_id)).first()


# ------------------------------------------------------------------------------------------------ policies


async def policy_row(community_id: int) -> VisitPolicy | None:
    return await VisitPolicy.get_or_none(unit_id=community_id)


async def policy_rows(community_ids: Iterable[int]) -> dict[int, VisitPolicy]:
    ids = sorted({i for i in community_ids if i})
    if not ids:
        return {}
    if len(ids) == 1:  # the usual case (a plan): constant SQL, prepared once per connection
        rows = await sql.fetch("SELECT * FROM visit_policy WHERE unit_id = $1", ids[0])
        return {int(r["unit_id"]): VisitPolicy._init_from_db(**r) for r in rows}
    return {p.unit_id: p for p in await VisitPolicy.filter(unit_id__in=ids)}


# ------------------------------------------------------------------------------------------------ assignments


async def visitor_grants(user_id: int) -> list[RoleGrant]:
    return await RoleGrant.filter(user_id=user_id, role__in=list(VISITOR_ROLES), org_unit_id__isnull=False) \
        .select_related("org_unit")


async def current_assignments(household_ids: Iterable[int]) -> dict[int, Assignment]:
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    return {a.household_id: a for a in await Assignment.filter(household_id__in=ids)}


async def assignment_page(scope: Scope | None, *, visitor_id: int | None, before_id: int | None,
                          limit: int) -> list[Assignment]:
    """Current assignments: within ``scope`` (managers), or a visitor's own (``scope`` None)."""
    qs = Assignment.all() if scope is None else scope.filter(Assignment.all())
    if visitor_id is not None:
        qs = qs.filter(visitor_id=visitor_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def spans(household_id: int) -> list[AssignmentSpan]:
    return await AssignmentSpan.filter(household_id=household_id).order_by("-id").limit(200)


async def visitors_with_assignments(after_id: int, limit: int) -> list[int]:
    """Visitor ids holding at least one household, in id order (for the reminder jobs)."""
    rows = await sql.fetch(
        "SELECT DISTINCT visitor_id FROM visit_assignment WHERE visitor_id > $1 ORDER BY visitor_id LIMIT $2",
        after_id, limit,
    )
    return [int(r["visitor_id"]) for r in rows]


async def visitors_in(start: datetime, end: datetime, after_id: int, limit: int) -> list[int]:
    """Visitor ids that held a household at some time in [start, end), in id order."""
    rows = await sql.fetch(
        "SELECT DISTINCT visitor_id FROM visit_assignment_span WHERE started_at < $1"
        " AND (ended_at IS NULL OR ended_at > $2) AND visitor_id > $3 ORDER BY visitor_id LIMIT $4",
        end, start, after_id, limit,
    )
    return [int(r["visitor_id"]) for r in rows]


# ------------------------------------------------------------------------------------------------ the plan

_PLAN_SQL = """
SELECT a.household_id, a.assigned_at, h.door_no, h.building_id, h.community_id,
       h.is_elderly, h.is_living_alone, h.is_disabled, h.is_low_income, h.is_hardship,
       b.name AS building_name, b.lat, b.lng
FROM visit_assignment a
JOIN household h ON h.id = a.household_id
JOIN org_unit b ON b.id = h.building_id
WHERE a.visitor_id = $1"""

# Constant SQL (prepared once per connection on PostgreSQL): the visitor's households come from a join.
_WINDOW_SQL = """
SELECT v.household_id, v.effective_at, v.at_home FROM visit_assignment a
JOIN visit v ON v.household_id = a.household_id
WHERE a.visitor_id = $1 AND v.effective_at >= $2 AND v.review_status <> 'rejected'"""

_LAST_SQL = """
SELECT v.household_id, MAX(v.effective_at) AS last_at FROM visit_assignment a
JOIN visit v ON v.household_id = a.household_id
WHERE a.visitor_id = $1 AND v.at_home AND v.review_status <> 'rejected'
GROUP BY v.household_id"""


async def plan_rows(visitor_id: int) -> list[dict[str, Any]]:
    rows = await sql.fetch(_PLAN_SQL, visitor_id)
    for r in rows:
        r["assigned_at"] = as_datetime(r["assigned_at"])
    return rows


def _id_list(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)  # integers only: safe to inline


async def visit_times(visitor_id: int, since: datetime) -> dict[int, list[tuple[datetime, bool]]]:
    """(effective time, at home) of every counted visit since ``since`` to the visitor's households (by anyone)."""
    out: dict[int, list[tuple[datetime, bool]]] = {}
    for r in await sql.fetch(_WINDOW_SQL, visitor_id, since):
        out.setdefault(int(r["household_id"]), []).append((as_datetime(r["effective_at"]), bool(r["at_home"])))
    return out


async def last_visits(visitor_id: int) -> dict[int, datetime]:
    """The last counted at-home visit of each of the visitor's households."""
    return {int(r["household_id"]): as_datetime(r["last_at"]) for r in await sql.fetch(_LAST_SQL, visitor_id)}


# ------------------------------------------------------------------------------------------------ visits


async def visit_by_client_id(client_id: uuid.UUID) -> Visit | None:
    return await Visit.get_or_none(client_id=client_id)


async def visit(visit_id: int) -> Visit | None:
    return await Visit.get_or_none(id=visit_id)


async def visits_by_ids(ids: Iterable[int]) -> list[Visit]:
    return await Visit.filter(id__in=sorted(set(ids))).order_by("id")


async def visit_page(scope: Scope | None, *, visitor_id: int | None, household_id: int | None,
                     start: datetime | None, end: datetime | None, flagged: bool | None,
                     before_id: int | None, limit: int) -> list[Visit]:
    """Visits within ``scope`` (staff), or a visitor's own (``scope`` None, ``visitor_id`` set)."""
    qs = Visit.all() if scope is None else scope.filter(Visit.all())
    if visitor_id is not None:
        qs = qs.filter(visitor_id=visitor_id)
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    if start is not None:
        qs = qs.filter(effective_at__gte=start)
    if end is not None:
        qs = qs.filter(effective_at__lt=end)
    if flagged is not None:
        qs = qs.filter(flagged=flagged)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def problems_of(visit_ids: Iterable[int]) -> dict[int, list[VisitProblem]]:
    ids = sorted(set(visit_ids))
    out: dict[int, list[VisitProblem]] = {}
    if not ids:
        return out
    for p in await VisitProblem.filter(visit_id__in=ids).order_by("id"):
        out.setdefault(p.visit_id, []).append(p)
    return out


async def problem(problem_id: int) -> VisitProblem | None:
    return await VisitProblem.get_or_none(id=problem_id)


async def report_statuses(report_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in report_ids if i})
    if not ids:
        return {}
    rows = await sql.fetch(f"SELECT id, status FROM report WHERE id IN ({_id_list(ids)})")
    return {int(r["id"]): str(r["status"]) for r in rows}


# ------------------------------------------------------------------------------------------------ months


async def month_row(visitor_id: int, month: str) -> VisitMonth | None:
    return await VisitMonth.get_or_none(visitor_id=visitor_id, month=month)


async def month_by_id(scope: Scope, month_id: int) -> VisitMonth | None:
    return await scope.filter(VisitMonth.filter(id=month_id)).first()


async def month_page(scope: Scope, *, month: str | None, status: MonthStatus | None, before_id: int | None,
                     limit: int) -> list[VisitMonth]:
    qs = scope.filter(VisitMonth.all())
    if month is not None:
        qs = qs.filter(month=month)
    if status is not None:
        qs = qs.filter(status=status)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def month_locked(visitor_id: int, month: str) -> bool:
    return await VisitMonth.exists(visitor_id=visitor_id, month=month,
                                   status__in=[MonthStatus.SUBMITTED, MonthStatus.APPROVED])


async def primary_grid(visitor_id: int, start: datetime, end: datetime) -> dict[str, Any] | None:
    """The grid holding most of the visitor's households during the month (ties: the lowest grid id)."""
    rows = await sql.fetch(
        "SELECT grid_id, community_id, street_id, COUNT(DISTINCT household_id) AS n FROM visit_assignment_span"
        " WHERE visitor_id = $1 AND started_at < $2 AND (ended_at IS NULL OR ended_at > $3)"
        " GROUP BY grid_id, community_id, street_id ORDER BY n DESC, grid_id LIMIT 1",
        visitor_id, end, start,
    )
    return rows[0] if rows else None


# ------------------------------------------------------------------------------------------------ resident ledger


async def profile(household_id: int) -> HouseholdProfile | None:
    return await HouseholdProfile.get_or_none(household_id=household_id)


async def members(household_id: int, *, include_removed: bool = False) -> list[HouseholdMember]:
    qs = HouseholdMember.filter(household_id=household_id)
    if not include_removed:
        qs = qs.filter(removed_at=None)
    return await qs.order_by("id")


async def member(household_id: int, member_id: int) -> HouseholdMember | None:
    return await HouseholdMember.get_or_none(id=member_id, household_id=household_id, removed_at=None)


async def changes(household_id: int, *, before_id: int | None, limit: int) -> list[HouseholdChange]:
    qs = HouseholdChange.filter(household_id=household_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)
