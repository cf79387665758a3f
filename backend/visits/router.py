"""/api/v1/visits: check-ins (online and offline sync), the visitor's plan, visits and their review, found
problems. Assignments, policies and the monthly 台账 are in ``router_manage``, the resident ledger in
``router_ledger``; static paths come before ``/{visit_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.core import privacy
from backend.core.deps import SettingsDep
from backend.core.errors import ErrorBody, Forbidden, InvalidTransition, ValidationFailed, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.media.exceptions import MediaNotUsable
from backend.reports.exceptions import BadTarget, UnknownCategory, Unroutable, VisitNotRecent
from backend.visits import plan, repository, service, views
from backend.visits.access import field_scope, manager_scope
from backend.visits.dependencies import Manager, ReviewableVisit, VisibleVisit, Visitor, WorkableProblem
from backend.visits.enums import FIELD_STAFF, TAGS
from backend.visits.exceptions import (
    ClientIdTaken,
    HouseholdNotFound,
    MonthLocked,
    ProblemAlreadyReported,
    ProblemAlreadySolved,
    ProblemNotFound,
    VisitConflict,
    VisitNotFound,
    VisitorNotFound,
)
from backend.visits.months import bounds
from backend.visits.router_ledger import router as ledger_router
from backend.visits.router_manage import router as manage_router
from backend.visits.schemas import (
    MONTH_PATTERN,
    CheckInIn,
    ConflictOut,
    PlanOut,
    ProblemOut,
    ProblemReportIn,
    ProblemReportOut,
    ProblemSolveIn,
    ReviewIn,
    SyncIn,
    SyncOut,
    SyncResult,
    TagOut,
    VisitOut,
)
from backend.visits.sync import CONFLICT_MESSAGES

router = APIRouter(prefix="/api/v1/visits", tags=["visits"])

Lat = Annotated[float | None, Query(ge=3.5, le=54.0, description="您当前的纬度（GCJ-02）")]
Lng = Annotated[float | None, Query(ge=73.0, le=136.0, description="您当前的经度（GCJ-02）")]


@router.get("/tags", response_model=list[TagOut])
async def list_tags(principal: Visitor):
    """走访可记录的问题类型，以及一键上报时默认的上报分类。"""
    return [TagOut(code=t.code, label=t.label, category=t.category) for t in TAGS.values()]


@router.get("/plan", response_model=PlanOut, responses=responses(VisitorNotFound, ValidationFailed))
async def get_plan(principal: Visitor, settings: SettingsDep, lat: Lat = None, lng: Lng = None,
                   visitor_id: Annotated[int | None, Query(gt=0, le=2**62, description="网格长查看某人的计划")] = None):
    """走访计划：逾期、待走访、已走访的联系户，提供位置时离您最近的在前。"""
    if (lat is None) != (lng is None):
        raise ValidationFailed("经纬度需同时提供", detail=[{"loc": "query.lat" if lat is None else "query.lng"}])
    if visitor_id is not None and visitor_id != principal.id:
        if not await repository.assignment_page(manager_scope(principal), visitor_id=visitor_id, before_id=None,
                                                limit=1):
            raise VisitorNotFound()
    return await plan.plan(visitor_id or principal.id, default_fence=settings.visits_fence_m, lat=lat, lng=lng)


@router.post("", response_model=VisitOut, status_code=201,
             responses={200: {"model": VisitOut, "description": "重复提交：返回已保存的记录"},
                        **responses(HouseholdNotFound, ClientIdTaken, VisitConflict, MonthLocked, MediaNotUsable)})
async def check_in(body: CheckInIn, principal: Visitor, settings: SettingsDep, response: Response):
    """入户打卡。离线记录请用 /sync；同一 client_id 重发只保存一次（200）。"""
    visit, created = await service.check_in(principal, body, settings)
    if not created:
        response.status_code = 200
    return (await views.visits_out([visit], viewer_id=principal.id, settings=settings))[0]


@router.post("/sync", response_model=SyncOut)
async def sync_visits(body: SyncIn, principal: Visitor, settings: SettingsDep):
    """同步离线记录：逐条返回 created / duplicate / updated / conflict / rejected；冲突不覆盖，返回服务器版本。"""
    received, results = await service.sync_batch(principal, body, settings)
    stored = [o.visit for _, o in results if o.visit is not None]
    shown = {v.id: v for v in await views.visits_out(stored, viewer_id=principal.id)}
    out = []
    for item, o in results:
        conflict = None
        if o.outcome == "conflict" and o.visit is not None:
            conflict = ConflictOut(reason=o.conflict, message=CONFLICT_MESSAGES[o.conflict],  # type: ignore[arg-type]
                                   server_version=o.visit.version, fields=o.fields)
        out.append(SyncResult(
            client_id=item.client_id, outcome=o.outcome,  # type: ignore[arg-type]
            visit=shown.get(o.visit.id) if o.visit is not None else None, conflict=conflict,
            error=ErrorBody(**o.error.body()) if o.error is not None else None,
        ))
    skew = round((body.sent_at - received.at).total_seconds())
    return SyncOut(received_at=received.at, skew_seconds=skew,
                   clock_skewed=abs(skew) > settings.visits_clock_skew_seconds, results=out)


@router.get("", response_model=Page[VisitOut])
async def list_visits(
    principal: Visitor, cursor: CursorParam = None, limit: LimitParam = 50,
    mine: Annotated[bool, Query(description="只看我自己的走访")] = False,
    visitor_id: Annotated[int | None, Query(gt=0, le=2**62)] = None,
    household_id: Annotated[int | None, Query(gt=0, le=2**62)] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="如 2026-11")] = None,
    flagged: Annotated[bool | None, Query(description="只看异常打卡")] = None,
):
    """走访记录：网格员及以上看辖区内的，党员看自己的。"""
    own = mine or not principal.has(*FIELD_STAFF)
    start, end = bounds(month) if month else (None, None)
    rows = await repository.visit_page(
        None if own else field_scope(principal), visitor_id=principal.id if own else visitor_id,
        household_id=household_id, start=start, end=end, flagged=flagged, before_id=decode_cursor(cursor),
        limit=limit,
    )
    page = page_of(rows, limit, lambda v: v)
    return Page(items=await views.visits_out(page.items, viewer_id=principal.id), next_cursor=page.next_cursor)


@router.post("/problems/{problem_id}/report", response_model=ProblemReportOut, status_code=201,
             responses=responses(ProblemNotFound, ProblemAlreadyReported, VisitNotRecent, UnknownCategory, BadTarget,
                                 Unroutable, MediaNotUsable))
async def report_problem(body: ProblemReportIn, problem: WorkableProblem, principal: Visitor):
    """一键上报：把走访发现的问题转为上报（吹哨），并与走访记录关联。"""
    report = await service.file_report(principal, problem, body)
    return ProblemReportOut(problem_id=problem.id, report_id=report.id, reporter_id=report.reporter_id,
                            on_behalf=report.reporter_id != principal.id)


@router.post("/problems/{problem_id}/solve", response_model=ProblemOut,
             responses=responses(ProblemNotFound, ProblemAlreadySolved))
async def solve_problem(body: ProblemSolveIn, problem: WorkableProblem, principal: Visitor):
    """当场解决：记录问题已解决及处理情况。"""
    return views.problem_out(await service.solve(principal, problem, body.note), None)


router.include_router(manage_router)
router.include_router(ledger_router)


@router.get("/{visit_id}", response_model=VisitOut, responses=responses(VisitNotFound, Forbidden))
async def get_visit(visit: VisibleVisit, principal: Visitor, settings: SettingsDep,
                    reveal: Annotated[bool, Query(description="查看打卡坐标（会记录查看日志）")] = False):
    """走访详情（含照片链接和发现的问题）；reveal=true 时返回打卡坐标并记录查看日志。"""
    if reveal and visit.visitor_id != principal.id:
        await privacy.reveal(principal, object_type="visit", object_id=visit.id, fields=("position",))
    return (await views.visits_out([visit], viewer_id=principal.id, reveal=reveal, settings=settings))[0]


@router.post("/{visit_id}/review", response_model=VisitOut, responses=responses(VisitNotFound, InvalidTransition))
async def review_visit(body: ReviewIn, visit: ReviewableVisit, principal: Manager):
    """网格长审核走访（通常是异常打卡）：认可或不予认可（不予认可的不计入计划和台账）。"""
    await service.review(principal, visit, body)
    return (await views.visits_out([visit], viewer_id=principal.id))[0]
