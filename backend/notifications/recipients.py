"""Recipients by rule, not by hand: who is responsible for a grid, who works for a community or a department,
which volunteers are available near a point. Every rule narrows through the org scoping helper
(``unit_scope(unit).filter(...)``, or ``Scope.where`` in hand-written SQL); nothing here filters an org
column by itself.

Each helper returns user ids (sorted, distinct) ready for ``notify``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Subquery

from backend.core import sql
from backend.core.timeutil import utcnow
from backend.models.notifications import Presence
from backend.models.org import Department, Household, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import Scope, unit_scope

GRID_TEAM = (Role.GRID_WORKER, Role.GRID_LEADER)
UNIT_STAFF = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF)
PRESENCE_FRESH_FOR = timedelta(hours=2)  # a position older than this is not "here now"
ON_DUTY_FRESH_FOR = timedelta(hours=12)  # one shift: "on duty" set this morning still counts tonight
EARTH_RADIUS_M = 6_371_000.0


async def holders(scope: Scope, roles: Iterable[Role]) -> list[int]:
    """Users holding one of ``roles`` through a grant on a unit inside ``scope``.

    Hand-written SQL: it runs inside every report submission and escalation, where building the same query
    with the ORM cost a fifth of the request's CPU."""
    wanted = sorted({Role(r).value for r in roles})
    if not wanted:
        return []
    role_holes = ", ".join(f"${i + 1}" for i in range(len(wanted)))
    inside, params = scope.where("u", first=len(wanted) + 1)
    rows = await sql.fetch(holders_sql(role_holes, inside), *wanted, *params)
    return sorted(r["user_id"] for r in rows)


def holders_sql(roles: str, inside: str) -> str:
    """The query of ``holders``: ``roles`` is SQL for the list of role names, ``inside`` a condition over the
    grant's unit ``u`` (its ancestor columns). Also a subquery of the one-statement report submission."""
    return (
        "SELECT DISTINCT g.user_id FROM role_grant g JOIN org_unit u ON u.id = g.org_unit_id "
        f"WHERE g.role IN ({roles}) AND ({inside})"
    )


async def grid_team(grid: OrgUnit) -> list[int]:
    """The grid workers and grid leader(s) of grid G (grants on the grid or on a unit inside it)."""
    return await holders(unit_scope(grid), GRID_TEAM)


async def community_staff(community: OrgUnit) -> list[int]:
    """The staff (社区两委) of community C."""
    return await holders(unit_scope(community), (Role.COMMUNITY_STAFF,))


async def street_staff(street: OrgUnit) -> list[int]:
    return await holders(unit_scope(street), (Role.STREET_STAFF,))


async def residents(unit: OrgUnit) -> list[int]:
    """Active residents whose household lies inside the unit."""
    households = unit_scope(unit).filter(Household.all()).values("id")
    return sorted(await User.filter(household_id__in=Subquery(households), is_active=True).values_list("id", flat=True))


async def department_staff(department: Department | int, *, on_duty: bool = True) -> list[int]:
    """Department D's staff; with ``on_duty``, those who marked themselves on duty (``/notifications/presence``)
    within the last hours, or, when nobody is on duty, all of them: a whistle must never reach nobody."""
    department_id = department if isinstance(department, int) else department.id
    staff = sorted(set(await RoleGrant.filter(role=Role.DEPARTMENT_STAFF, department_id=department_id).values_list(
        "user_id", flat=True
    )))
    if not on_duty or not staff:
        return staff
    duty = await Presence.filter(
        user_id__in=staff, available=True, updated_at__gte=utcnow() - ON_DUTY_FRESH_FOR
    ).values_list("user_id", flat=True)
    return sorted(duty) or staff


@dataclass(frozen=True)
class Nearby:
    user_id: int
    distance_m: float


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine); plenty for the few kilometres of one street."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


async def volunteers_near(
    lat: float, lng: float, radius_m: float, *, within: OrgUnit | None = None, limit: int = 50
) -> list[Nearby]:
    """Volunteers who are available, reported a position in the last two hours within ``radius_m`` of the point,
    nearest first; ``within`` keeps only volunteers registered in that unit's subtree."""
    dlat = radius_m / 111_320.0
    dlng = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    volunteers = RoleGrant.filter(role=Role.VOLUNTEER)
    if within is not None:
        volunteers = unit_scope(within).filter(volunteers, prefix="org_unit__")
    rows = await Presence.filter(
        available=True,
        updated_at__gte=utcnow() - PRESENCE_FRESH_FOR,
        lat__gte=lat - dlat, lat__lte=lat + dlat, lng__gte=lng - dlng, lng__lte=lng + dlng,
        user_id__in=Subquery(volunteers.values("user_id")),
        user__is_active=True,
    ).values_list("user_id", "lat", "lng")
    found = [Nearby(uid, distance_m(lat, lng, la, ln)) for uid, la, ln in rows]
    return sorted((n for n in found if n.distance_m <= radius_m), key=lambda n: (n.distance_m, n.user_id))[:limit]
