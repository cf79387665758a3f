"""/api/v1/visits: assignments (党员联户), community policies, the monthly 走访台账 and its Excel export."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from backend.auth.dependencies import CurrentUser
from backend.core import audit
from backend.core.deps import SettingsDep
from backend.core.errors import Forbidden, InvalidTransition, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.models.visits import MonthStatus
from backend.visits import ledger_export, months, policies, repository, service
from backend.visits.access import manager_scope
from backend.visits.dependencies import (
    ManagedAssignment,
    ManagedHousehold,
    Manager,
    PolicyCommunity,
    PolicyEditor,
    ReportUnit,
    ReviewableMonth,
    Visitor,
)
from backend.visits.enums import MANAGERS
from backend.visits.exceptions import (
    AssignmentChanged,
    FutureMonth,
    HouseholdNotFound,
    MonthNotFound,
    NotAVisitor,
    NothingToSubmit,
    PolicyChanged,
    UnitNotFound,
    VisitorNotFound,
    WrongUnitLevel,
)
from backend.visits.month_schemas import ApproveIn, LedgerReportOut, MonthOut, ReturnIn
from backend.visits.schemas import (
    MONTH_PATTERN,
    AssignIn,
    AssignmentOut,
    AssignOut,
    PolicyIn,
    PolicyOut,
    SpanOut,
)

router = APIRouter()
MonthQuery = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="如 2026-11；默认本月")]
XLSX = {200: {"content": {ledger_export.MEDIA_TYPE: {}}, "description": "Excel 文件"}}


# ------------------------------------------------------------------------------------------------ assignments


@router.get("/assignments", response_model=Page[AssignmentOut])
async def list_assignments(principal: Visitor, cursor: CursorParam = None, limit: LimitParam = 50,
                           visitor_id: Annotated[int | None, Query(gt=0, le=2**62)] = None):
    """联系户：网格长及以上看辖区内的分配，党员和网格员看自己的。"""
    managing = principal.has(*MANAGERS)
    rows = await repository.assignment_page(manager_scope(principal) if managing else None,
                                            visitor_id=visitor_id if managing else principal.id,
                                            before_id=decode_cursor(cursor), limit=limit)
    page = page_of(rows, limit, lambda a: a)
    labels = await repository.labels(a.household_id for a in page.items)
    names = await repository.user_names(a.visitor_id for a in page.items)
    return Page(items=[AssignmentOut(
        household_id=a.household_id, household_label=labels.get(a.household_id, ""), visitor_id=a.visitor_id,
        visitor_name=names.get(a.visitor_id, ""), assigned_at=a.assigned_at, assigned_by_id=a.assigned_by_id,
        reason=a.reason) for a in page.items], next_cursor=page.next_cursor)


@router.post("/assignments", response_model=AssignOut,
             responses=responses(HouseholdNotFound, VisitorNotFound, NotAVisitor, AssignmentChanged))
async def assign(body: AssignIn, principal: Manager):
    """分配或改派联系户（党员联户）：改派保留历史；有一户不行则全部不变。"""
    return await service.assign(principal, body)


@router.delete("/assignments/{household_id}", status_code=204, response_class=Response,
               responses=responses(HouseholdNotFound, AssignmentChanged))
async def unassign(assignment: ManagedAssignment, principal: Manager,
                   reason: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """取消该户的联系人（保留历史）。"""
    await service.unassign(principal, assignment, reason)
    return Response(status_code=204)


@router.get("/assignments/{household_id}/history", response_model=list[SpanOut], responses=responses(HouseholdNotFound))
async def assignment_history(household: ManagedHousehold, principal: Manager):
    """该户的联系人变更历史。"""
    spans = await repository.spans(household.id)
    names = await repository.user_names(s.visitor_id for s in spans)
    return [SpanOut(visitor_id=s.visitor_id, visitor_name=names.get(s.visitor_id, ""), started_at=s.started_at,
                    ended_at=s.ended_at, assigned_by_id=s.assigned_by_id, reason=s.reason,
                    ended_by_id=s.ended_by_id, end_reason=s.end_reason) for s in spans]


# ------------------------------------------------------------------------------------------------ policies


@router.get("/policies/{community_id}", response_model=PolicyOut, responses=responses(UnitNotFound))
async def get_policy(community: PolicyCommunity, principal: PolicyEditor, settings: SettingsDep):
    """社区的走访规则（未设置时为默认规则）。"""
    return policies.policy_out(community.id, await policies.policy_for(community.id, settings))


@router.put("/policies/{community_id}", response_model=PolicyOut, responses=responses(UnitNotFound, PolicyChanged))
async def put_policy(body: PolicyIn, community: PolicyCommunity, principal: PolicyEditor):
    """设置社区的走访规则和打卡范围（会记录操作日志）。"""
    return policies.policy_out(community.id, await policies.save(principal, community, body))


# ------------------------------------------------------------------------------------------------ months


@router.get("/months/mine", response_model=MonthOut)
async def my_month(principal: Visitor, month: MonthQuery = None):
    """我的月度走访台账：当前数字和提交、审核状态。"""
    return await months.mine(principal.id, month or months.current_month())


@router.post("/months/{month}/submit", response_model=MonthOut,
             responses=responses(FutureMonth, NothingToSubmit, InvalidTransition))
async def submit_month(month: Annotated[str, Path(pattern=MONTH_PATTERN, description="如 2026-11")],
                       principal: Visitor):
    """提交月度走访台账给网格长审核（退回后可再次提交）。"""
    await months.submit(principal, month)
    return await months.mine(principal.id, month)


@router.get("/months", response_model=Page[MonthOut])
async def list_months(principal: Manager, cursor: CursorParam = None, limit: LimitParam = 50,
                      month: MonthQuery = None, status: MonthStatus | None = None):
    """辖区内已提交过的走访台账（可按月份、状态筛选）。"""
    rows = await repository.month_page(manager_scope(principal), month=month, status=status,
                                       before_id=decode_cursor(cursor), limit=limit)
    page = page_of(rows, limit, lambda r: r)
    names = await repository.user_names(r.visitor_id for r in page.items)
    items = []
    for r in page.items:
        start, end = months.bounds(r.month)
        live = await months.stats.of_visitor(r.visitor_id, start, end)
        items.append(months.month_out(r, visitor_id=r.visitor_id, name=names.get(r.visitor_id, ""), month=r.month,
                                      live=live))
    return Page(items=items, next_cursor=page.next_cursor)


async def _month_out(row) -> MonthOut:  # type: ignore[no-untyped-def]
    start, end = months.bounds(row.month)
    names = await repository.user_names([row.visitor_id])
    return months.month_out(row, visitor_id=row.visitor_id, name=names.get(row.visitor_id, ""), month=row.month,
                            live=await months.stats.of_visitor(row.visitor_id, start, end))


@router.post("/months/{month_id}/approve", response_model=MonthOut,
             responses=responses(MonthNotFound, InvalidTransition, Forbidden))
async def approve_month(body: ApproveIn, row: ReviewableMonth, principal: Manager):
    """网格长审核通过走访台账。"""
    return await _month_out(await months.approve(principal, row, body.version))


@router.post("/months/{month_id}/return", response_model=MonthOut,
             responses=responses(MonthNotFound, InvalidTransition, Forbidden))
async def return_month(body: ReturnIn, row: ReviewableMonth, principal: Manager):
    """退回走访台账（须说明原因），走访人修改后可再次提交。"""
    return await _month_out(await months.return_(principal, row, body.reason, body.version))


# ------------------------------------------------------------------------------------------------ the report


@router.get("/report", response_model=LedgerReportOut, responses=responses(UnitNotFound, WrongUnitLevel))
async def ledger_report(unit: ReportUnit, month: MonthQuery = None):
    """网格、社区或街道的月度走访统计：每位走访人、每个网格和合计。"""
    return await months.report(unit, month or months.current_month())


@router.get("/report/export", response_class=FileResponse, responses={**XLSX, **responses(UnitNotFound, WrongUnitLevel)})
async def export_report(unit: ReportUnit, principal: CurrentUser, month: MonthQuery = None):
    """导出月度走访台账 Excel：汇总表一张，每个网格一张，含合计行（会记录导出日志）。"""
    month = month or months.current_month()
    spool = tempfile.NamedTemporaryFile(prefix="jinlin-visits-", suffix=".xlsx", delete=False)  # noqa: SIM115
    try:
        with spool:
            await ledger_export.write(unit, month, spool)
        await audit.record("visits:export", actor_id=principal.id, object_type="org_unit", object_id=unit.id,
                           detail={"month": month})
    except BaseException:
        os.unlink(spool.name)
        raise
    return FileResponse(spool.name, media_type=ledger_export.MEDIA_TYPE, filename=f"visits-{unit.id}-{month}.xlsx",
                        background=BackgroundTask(os.unlink, spool.name))
