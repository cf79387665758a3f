"""/api/v1/org: the tree, households, departments, and imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from backend.auth.dependencies import CurrentUser, StreetStaff
from backend.core import privacy
from backend.core.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    responses,
)
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.models.org import OrgLevel
from backend.org import importer, repository, service
from backend.org.dependencies import ALL_ROLES, EditableHousehold, EditableUnit, ReadableHousehold, ReadableUnit
from backend.org.exceptions import (
    DoorTaken,
    ImportRejected,
    NotABuilding,
    UnitCodeTaken,
    UnitNameTaken,
    UnitNotEmpty,
    WrongParentLevel,
)
from backend.org.schemas import (
    DepartmentCreate,
    DepartmentOut,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    ImportReport,
    UnitCreate,
    UnitOut,
    UnitUpdate,
    ancestor_ids,
    department_out,
    household_out,
    unit_out,
)
from backend.org.scope import scope_of
from backend.org.service import HOUSEHOLD_READERS

router = APIRouter(prefix="/api/v1/org", tags=["org"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024


async def _unit_out(unit) -> UnitOut:  # type: ignore[no-untyped-def]
    return unit_out(unit, await repository.names(ancestor_ids([unit])))


@router.get("/units", response_model=Page[UnitOut])
async def list_units(
    principal: CurrentUser,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    parent_id: Annotated[int | None, Query(gt=0)] = None,
    level: OrgLevel | None = None,
    q: Annotated[str | None, Query(max_length=64, description="按名称搜索")] = None,
):
    """列出您可见的单位（可按上级、层级、名称筛选）。"""
    rows = await repository.units(
        scope_of(principal, ALL_ROLES), parent_id=parent_id, level=level, search=q,
        before_id=decode_cursor(cursor), limit=limit,
    )
    names = await repository.names(ancestor_ids(rows))
    return page_of(rows, limit, lambda u: unit_out(u, names))


@router.post(
    "/units", response_model=UnitOut, status_code=201,
    responses=responses(NotFound, Forbidden, WrongParentLevel, UnitNameTaken, UnitCodeTaken),
)
async def create_unit(body: UnitCreate, principal: CurrentUser):
    """新建单位（社区工作人员可在本社区内新建网格、小区、楼栋）。"""
    return await _unit_out(await service.create_unit(principal, body))


@router.get("/units/{unit_id}", response_model=UnitOut, responses=responses(NotFound))
async def get_unit(unit: ReadableUnit):
    return await _unit_out(unit)


@router.patch("/units/{unit_id}", response_model=UnitOut, responses=responses(NotFound, UnitNameTaken, UnitCodeTaken))
async def update_unit(body: UnitUpdate, unit: EditableUnit, principal: CurrentUser):
    return await _unit_out(await service.update_unit(principal, unit, body))


@router.delete(
    "/units/{unit_id}", status_code=204, response_class=Response, responses=responses(NotFound, UnitNotEmpty)
)
async def delete_unit(unit: EditableUnit, principal: CurrentUser) -> Response:
    """删除没有下级、住户和人员的单位。"""
    await service.delete_unit(principal, unit)
    return Response(status_code=204)


@router.get("/households", response_model=Page[HouseholdOut])
async def list_households(
    principal: CurrentUser,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    building_id: Annotated[int | None, Query(gt=0)] = None,
):
    """列出您负责范围内的住户（联系方式和敏感状况已脱敏）。"""
    rows = await repository.households(
        scope_of(principal, HOUSEHOLD_READERS), building_id=building_id,
        before_id=decode_cursor(cursor), limit=limit,
    )
    return page_of(rows, limit, lambda h: household_out(h, revealed=False))


@router.post(
    "/households", response_model=HouseholdOut, status_code=201,
    responses=responses(NotFound, NotABuilding, DoorTaken),
)
async def create_household(body: HouseholdCreate, principal: CurrentUser):
    household = await service.create_household(principal, body)
    await household.fetch_related("building")
    return household_out(household, revealed=False)


@router.get("/households/{household_id}", response_model=HouseholdOut, responses=responses(NotFound, Forbidden))
async def get_household(
    household: ReadableHousehold,
    principal: CurrentUser,
    reveal: Annotated[bool, Query(description="查看完整信息（会记录查看日志）")] = False,
):
    """住户详情；reveal=true 时返回完整电话、地址和敏感状况，并记录查看日志。"""
    if reveal:
        await privacy.reveal(
            principal, object_type="household", object_id=household.id,
            fields=("address", "contact_phone", "flags"),
        )
    return household_out(household, revealed=reveal)


@router.patch("/households/{household_id}", response_model=HouseholdOut, responses=responses(NotFound, DoorTaken))
async def update_household(body: HouseholdUpdate, household: EditableHousehold, principal: CurrentUser):
    return household_out(await service.update_household(principal, household, body), revealed=False)


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(principal: CurrentUser):
    """本街道的职能部门。"""
    rows = await repository.departments(scope_of(principal, ALL_ROLES))
    return [department_out(d) for d in rows]


@router.post("/departments", response_model=DepartmentOut, status_code=201, responses=responses(NotFound, UnitNameTaken))
async def create_department(body: DepartmentCreate, principal: StreetStaff):
    return department_out(await service.create_department(principal, body))


@router.post(
    "/import", response_model=ImportReport,
    responses=responses(BadRequest, ImportRejected, PayloadTooLarge),
)
async def import_org(principal: StreetStaff, file: Annotated[UploadFile, File(description=".csv 或 .xlsx")]):
    """从 CSV / Excel 导入单位和住户：有任何一行出错就全部不导入，并逐行说明错误。"""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge("导入文件不能超过 20 MB")
    try:
        table = importer.read_table(data, file.filename or "upload.csv")
    except importer.ImportFileError as exc:
        raise BadRequest(str(exc)) from exc
    rows, errors = importer.parse(table)
    errors += await importer.check_scope(rows, scope_of(principal, service.TREE_EDITORS))
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportRejected(
            f"{ImportRejected.message}：共 {len(errors)} 处错误", detail=[e.model_dump() for e in errors[:500]]
        )
    return await service.import_rows(rows, actor_id=principal.id, source=file.filename or "upload")
