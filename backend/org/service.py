"""Editing the org tree, households and departments, within the caller's scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from backend.auth import principals
from backend.auth.principal import Principal
from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import Forbidden, NotFound
from backend.models.org import ALLOWED_PARENTS, Department, Household, OrgLevel, OrgUnit
from backend.models.user import Role
from backend.org import importer, repository
from backend.org.exceptions import (
    DoorTaken,
    NotABuilding,
    UnitCodeTaken,
    UnitNameTaken,
    UnitNotEmpty,
    WrongParentLevel,
)
from backend.org.schemas import (
    DepartmentCreate,
    HouseholdCreate,
    HouseholdUpdate,
    ImportReport,
    MyHouseholdOut,
    UnitCreate,
    UnitUpdate,
    my_household_out,
)
from backend.org.scope import ancestor_columns, scope_of

M = TypeVar("M", OrgUnit, Household)

# Who may change what. Reading the tree is open to every grant holder within their scope.
TREE_EDITORS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
HOUSEHOLD_EDITORS = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
HOUSEHOLD_READERS = (*HOUSEHOLD_EDITORS, Role.BUILDING_HEAD)
DEPARTMENT_EDITORS = (Role.STREET_STAFF, Role.ADMIN)


async def _save_changes(principal: Principal, row: M, changes: dict, *, action: str, object_type: str) -> M:
    """Apply a partial update and its audit row in one transaction (nothing to do: nothing written)."""
    if not changes:
        return row
    async with atomic():
        row.update_from_dict(changes)
        await row.save(update_fields=[*changes, "updated_at"])
        await audit.record(
            action, actor_id=principal.id, object_type=object_type, object_id=row.pk,
            detail={"fields": sorted(changes)},
        )
    return row


async def create_unit(principal: Principal, body: UnitCreate) -> OrgUnit:
    level = OrgLevel(body.level)
    parent: OrgUnit | None = None
    if body.parent_id is not None:
        parent = await repository.unit(scope_of(principal, TREE_EDITORS), body.parent_id)
        if parent is None:
            raise NotFound("找不到上级单位，或您无权在其下新建")
    elif not principal.is_admin:
        raise Forbidden("只有管理员可以新建街道")
    if (OrgLevel(parent.level) if parent else None) not in ALLOWED_PARENTS[level]:
        allowed = "、".join(p.label for p in ALLOWED_PARENTS[level] if p) or "无"
        raise WrongParentLevel(f"{level.label}的上级应为：{allowed}")
    if await repository.name_taken(body.parent_id, body.name):
        raise UnitNameTaken()
    if body.code and await repository.code_taken(body.code):
        raise UnitCodeTaken()
    async with atomic():
        unit = await OrgUnit.create(
            level=level,
            parent=parent,
            **body.model_dump(exclude={"level", "parent_id"}),
            **ancestor_columns(parent, level, None),
        )
        setattr(unit, level.column, unit.id)
        await unit.save(update_fields=[level.column])
        await audit.record("org:create", actor_id=principal.id, object_type="org_unit", object_id=unit.id)
    return unit


async def update_unit(principal: Principal, unit: OrgUnit, body: UnitUpdate) -> OrgUnit:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and await repository.name_taken(unit.parent_id, changes["name"], exclude_id=unit.id):
        raise UnitNameTaken()
    if changes.get("code") and await repository.code_taken(changes["code"], exclude_id=unit.id):
        raise UnitCodeTaken()
    saved = await _save_changes(principal, unit, changes, action="org:update", object_type="org_unit")
    principals.forget_everyone()  # grants carry their unit's name and place
    return saved


async def delete_unit(principal: Principal, unit: OrgUnit) -> None:
    if await repository.unit_in_use(unit.id):
        raise UnitNotEmpty()
    async with atomic():
        await unit.delete()
        await audit.record(
            "org:delete", actor_id=principal.id, object_type="org_unit", object_id=unit.id,
            detail={"name": unit.name, "level": unit.level},
        )


async def create_household(principal: Principal, body: HouseholdCreate) -> Household:
    building = await repository.unit(scope_of(principal, HOUSEHOLD_EDITORS), body.building_id)
    if building is None:
        raise NotFound("找不到该楼栋，或您无权在其下登记住户")
    if OrgLevel(building.level) is not OrgLevel.BUILDING:
        raise NotABuilding()
    if await repository.door_taken(building.id, body.door_no):
        raise DoorTaken()
    columns = ancestor_columns(building, OrgLevel.BUILDING, building.id)
    columns.pop("building_id")
    async with atomic():
        household = await Household.create(
            building=building,
            door_no=body.door_no,
            address=body.address,
            contact_phone=body.contact_phone,
            members_count=body.members_count,
            **body.flags.model_dump(),
            **columns,
        )
        await audit.record("household:create", actor_id=principal.id, object_type="household", object_id=household.id)
    return household


async def update_household(principal: Principal, household: Household, body: HouseholdUpdate) -> Household:
    changes = body.model_dump(exclude_unset=True)
    flags = changes.pop("flags", None) or {}
    if "door_no" in changes and await repository.door_taken(
        household.building_id, changes["door_no"], exclude_id=household.id
    ):
        raise DoorTaken()
    changes.update(flags)
    return await _save_changes(principal, household, changes, action="household:update", object_type="household")


async def create_department(principal: Principal, body: DepartmentCreate) -> Department:
    street = await repository.unit(scope_of(principal, DEPARTMENT_EDITORS), body.street_id)
    if street is None or OrgLevel(street.level) is not OrgLevel.STREET:
        raise NotFound("找不到该街道，或您无权为其登记部门")
    if await Department.exists(street_id=street.id, name=body.name):  # scope: uniqueness within a street
        raise UnitNameTaken("该街道已有同名部门")
    async with atomic():
        department = await Department.create(
            name=body.name, category=body.category, street=street, duty_phone=body.duty_phone
        )
        await audit.record("department:create", actor_id=principal.id, object_type="department", object_id=department.id)
    return department


async def import_rows(
    rows: list[importer.Row], *, actor_id: int | None, source: str, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Write checked import rows and the audit row in one transaction."""
    async with atomic():
        report = await importer.apply(rows, progress=progress)
        await audit.record(
            "org:import", actor_id=actor_id, object_type="org_import", object_id=source[:64],
            detail=report.model_dump(),
        )
    return report


def household_place_ids(household) -> list[int | None]:  # type: ignore[no-untyped-def]
    """The org units a household sits in (street … compound), whose names ``my_household_out`` shows."""
    return [getattr(household, lv.column) for lv in OrgLevel if lv is not OrgLevel.BUILDING]


async def my_household(user) -> MyHouseholdOut | None:  # type: ignore[no-untyped-def]
    """The caller's own household with its building (position in GCJ-02) and the names above it, masked."""
    household = await repository.own_household(user.household_id)
    if household is None:
        return None
    return my_household_out(household, await repository.names(household_place_ids(household)))
