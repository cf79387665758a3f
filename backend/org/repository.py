"""Queries of the org domain; every list and lookup starts from a ``Scope``."""

from __future__ import annotations

from collections.abc import Iterable

from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.user import RoleGrant, User
from backend.org.scope import Scope


async def units(
    scope: Scope,
    *,
    parent_id: int | None,
    level: OrgLevel | None,
    search: str | None,
    before_id: int | None,
    limit: int,
) -> list[OrgUnit]:
    qs = scope.filter(OrgUnit.all())
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if level is not None:
        qs = qs.filter(level=level)
    if search:
        qs = qs.filter(name__icontains=search)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def unit(scope: Scope, unit_id: int) -> OrgUnit | None:
    return await scope.filter(OrgUnit.filter(id=unit_id)).first()


async def names(ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(await OrgUnit.filter(id__in=wanted).values_list("id", "name"))


async def name_taken(parent_id: int | None, name: str, exclude_id: int | None = None) -> bool:
    qs = OrgUnit.filter(parent_id=parent_id, name=name)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return await qs.exists()


async def code_taken(code: str, exclude_id: int | None = None) -> bool:
    qs = OrgUnit.filter(code=code)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return await qs.exists()


async def unit_in_use(unit_id: int) -> bool:
    return (
        await OrgUnit.exists(parent_id=unit_id)
        or await Household.exists(building_id=unit_id)
        or await RoleGrant.exists(org_unit_id=unit_id)
        or await Department.exists(street_id=unit_id)  # scope: the department's street, not visibility
    )


async def households(
    scope: Scope, *, building_id: int | None, before_id: int | None, limit: int
) -> list[Household]:
    qs = scope.filter(Household.all()).select_related("building")
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def household(scope: Scope, household_id: int) -> Household | None:
    return await scope.filter(Household.filter(id=household_id)).select_related("building").first()


async def own_household(household_id: int | None) -> Household | None:
    """The household a user is registered in: one's own home is a matter of identity, not of org scope."""
    if household_id is None:
        return None
    return await Household.filter(id=household_id).select_related("building").first()


async def door_taken(building_id: int, door_no: str, exclude_id: int | None = None) -> bool:
    qs = Household.filter(building_id=building_id, door_no=door_no)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return await qs.exists()


async def departments(scope: Scope) -> list[Department]:
    """Departments serving the streets the scope lies in, and the caller's own departments."""
    return await Department.filter(scope.department_q()).order_by("id")


async def department(scope: Scope, department_id: int) -> Department | None:
    row = await Department.get_or_none(id=department_id)
    if row is None or not (scope.touches_street(row.street_id) or scope.covers_department(row.id)):
        return None
    return row


async def residents_count(household_id: int) -> int:
    return await User.filter(household_id=household_id).count()
