"""Loaders for ``{id}`` routes: the object, if it exists and lies in the caller's scope, else 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser
from backend.core.errors import NotFound
from backend.models.org import Household, OrgUnit
from backend.models.user import Role
from backend.org import repository
from backend.org.scope import scope_of
from backend.org.service import HOUSEHOLD_EDITORS, HOUSEHOLD_READERS, TREE_EDITORS

ALL_ROLES = tuple(Role)
UnitId = Annotated[int, Path(gt=0, le=2**62)]


async def _unit(principal: CurrentUser, unit_id: UnitId, roles: tuple[Role, ...]) -> OrgUnit:
    unit = await repository.unit(scope_of(principal, roles), unit_id)
    if unit is None:
        raise NotFound("找不到该单位")
    return unit


async def unit_readable(principal: CurrentUser, unit_id: UnitId) -> OrgUnit:
    return await _unit(principal, unit_id, ALL_ROLES)


async def unit_editable(principal: CurrentUser, unit_id: UnitId) -> OrgUnit:
    return await _unit(principal, unit_id, TREE_EDITORS)


async def _household(principal: CurrentUser, household_id: int, roles: tuple[Role, ...]) -> Household:
    household = await repository.household(scope_of(principal, roles), household_id)
    if household is None:
        raise NotFound("找不到该住户")
    return household


async def household_readable(
    principal: CurrentUser, household_id: Annotated[int, Path(gt=0, le=2**62)]
) -> Household:
    """A household in the caller's scope, or the caller's own household (a resident reads their own home)."""
    if principal.user.household_id == household_id:
        own = await repository.own_household(household_id)
        if own is not None:
            return own
    return await _household(principal, household_id, HOUSEHOLD_READERS)


async def household_editable(
    principal: CurrentUser, household_id: Annotated[int, Path(gt=0, le=2**62)]
) -> Household:
    return await _household(principal, household_id, HOUSEHOLD_EDITORS)


ReadableUnit = Annotated[OrgUnit, Depends(unit_readable)]
EditableUnit = Annotated[OrgUnit, Depends(unit_editable)]
ReadableHousehold = Annotated[Household, Depends(household_readable)]
EditableHousehold = Annotated[Household, Depends(household_editable)]
