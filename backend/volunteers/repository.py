"""Queries of the volunteers domain. Staff lists start from ``Scope``; the geographic search reads the geohash
cell index (docs/adr/0016) and never scans the table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from backend.core import sql
from backend.models.volunteers import (
    Activity,
    ActivitySignup,
    DualRegistration,
    Pairing,
    VolunteerProfile,
    VolunteerStatus,
    VolunteerTeam,
)
from backend.org.scope import Scope
from backend.volunteers import geohash

# ------------------------------------------------------------------------------------------------ profiles


async def profile_of(user_id: int) -> VolunteerProfile | None:
    return await VolunteerProfile.get_or_none(user_id=user_id).select_related("user")


def scoped_profiles(scope: Scope) -> QuerySet[VolunteerProfile]:
    return scope.filter(VolunteerProfile.all())


async def profiles(
    scope: Scope, *, status: VolunteerStatus | None, before_id: int | None, limit: int
) -> list[VolunteerProfile]:
    qs = scoped_profiles(scope)
    if status is not None:
        qs = qs.filter(status=status)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1).select_related("user")


async def profile(scope: Scope, profile_id: int) -> VolunteerProfile | None:
    return await scoped_profiles(scope).filter(id=profile_id).select_related("user").first()


async def take_task_slot(user_id: int) -> bool:
    """One more task for this volunteer, if they are active and below their bound (one conditional UPDATE)."""
    return bool(
        await VolunteerProfile.filter(
            user_id=user_id, status=VolunteerStatus.ACTIVE, active_tasks__lt=F("max_active")
        ).update(active_tasks=F("active_tasks") + 1)
    )


async def free_task_slot(user_id: int, *, completed: bool = False) -> None:
    changes = {"active_tasks": F("active_tasks") - 1}
    if completed:
        changes["completed_tasks"] = F("completed_tasks") + 1
    await VolunteerProfile.filter(user_id=user_id, active_tasks__gt=0).update(**changes)


# ------------------------------------------------------------------------------------------------ nearby


@dataclass(frozen=True)
class Candidate:
    user_id: int
    distance_m: float
    skills: tuple[str, ...]
    active_tasks: int
    max_active: int


_COLUMNS = (
    "user_id",
    "lat",
    "lng",
    "skills",
    "active_tasks",
    "max_active",
    "service_radius_m",
    "availability",
)


@lru_cache(maxsize=4096)
def _skills(raw: str) -> tuple[str, ...]:
    """A profile's skills as stored (a JSON list). A city's volunteers share a few dozen combinations, and a
    wide matching wave reads hundreds of rows: decoding every row's list again cost ~1.5 ms of the 10 km
    wave's ~9.5 ms p50 (2026-12-07, 100,000 volunteers)."""
    return tuple(json.loads(raw) or ())


async def _in_cells(column: str, cells: list[str], scope: Scope | None) -> list[Any]:
    """Matchable volunteers in these cells. Hand-written SQL (the hot path of matching: a few hundred rows,
    and the ORM's per-row conversion would cost more than the query); through the ORM when a scope narrows
    it."""
    if scope is not None:
        qs = scope.filter(
            VolunteerProfile.filter(
                **{f"{column}__in": cells},
                status=VolunteerStatus.ACTIVE,
                active_tasks__lt=F("max_active"),
                user__is_active=True,
            )
        )
        return await qs.values_list(*_COLUMNS)
    if sql.is_sqlite():
        within, params = f"p.{column} IN ({', '.join(f'${i + 1}' for i in range(len(cells)))})", list(cells)
    else:
        # one array parameter: the same statement text whatever the number of cells, so asyncpg prepares it
        # once per connection instead of once per cell count (a Parse round trip per widening step)
        within, params = f"p.{column} = ANY($1::text[])", [list(cells)]
    return await sql.rows(
        f"SELECT p.{', p.'.join(_COLUMNS)} FROM volunteer_profile p JOIN app_user u ON u.id = p.user_id "
        f"WHERE {within} AND p.status = 'active' AND p.active_tasks < p.max_active AND u.is_active",
        *params,
    )


async def nearby(
    lat: float,
    lng: float,
    radius_m: float,
    *,
    pool: int,
    hour: int | None,
    exclude: set[int] | frozenset[int] = frozenset(),
    scope: Scope | None = None,
    start_m: float = 250.0,
) -> list[Candidate]:
    """Active volunteers with a free task slot, available in weekly ``hour`` (None: any), whose service area
    reaches the point, within ``radius_m``: at least the nearest ``pool`` when there are that many, nearest
    first.

    The search widens (250 m, 500 m, 1 km… up to ``radius_m``) and reads only cells it has not read yet: fine
    cells while the reach is small (a dense centre stops after a few hundred rows), coarse cells beyond (a
    sparse edge keeps looking further without listing thousands of cells)."""
    seen: dict[str, set[str]] = {"cell": set(), "fine_cell": set()}
    found: dict[int, Candidate] = {}
    reach = min(start_m, radius_m)
    while True:
        column, precision = (
            ("fine_cell", geohash.FINE_PRECISION)
            if reach <= geohash.FINE_UNTIL_M
            else ("cell", geohash.INDEX_PRECISION)
        )
        cells = geohash.covering(lat, lng, reach, precision) - seen[column]
        seen[column] |= cells
        if cells:
            for row in await _in_cells(column, sorted(cells), scope):
                user_id, vlat, vlng, skills, active, max_active, service_radius, availability = row
                if user_id in found or user_id in exclude or (hour is not None and availability[hour] != "1"):
                    continue
                d = geohash.distance_m(lat, lng, vlat, vlng)
                if d <= radius_m and d <= service_radius:
                    skills = _skills(skills) if isinstance(skills, str) else tuple(skills or ())
                    found[user_id] = Candidate(user_id, d, skills, active, max_active)
        within = sum(1 for c in found.values() if c.distance_m <= reach)
        if within >= pool or reach >= radius_m:
            break
        reach = min(reach * 2, radius_m)
    return sorted(found.values(), key=lambda c: (c.distance_m, c.user_id))


# ------------------------------------------------------------------------------------------------ the rest


def scoped_teams(scope: Scope) -> QuerySet[VolunteerTeam]:
    return scope.filter(VolunteerTeam.all())


def scoped_dual_registrations(scope: Scope) -> QuerySet[DualRegistration]:
    return scope.filter(DualRegistration.all())


def scoped_pairings(scope: Scope) -> QuerySet[Pairing]:
    return scope.filter(Pairing.all())


def scoped_activities(scope: Scope) -> QuerySet[Activity]:
    return scope.filter(Activity.all())


async def active_pairing_of(resident_id: int) -> Pairing | None:
    return await Pairing.get_or_none(active_key=resident_id)


async def signup(activity_id: int, volunteer_id: int) -> ActivitySignup | None:
    return await ActivitySignup.get_or_none(activity_id=activity_id, volunteer_id=volunteer_id)
