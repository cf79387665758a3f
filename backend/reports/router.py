"""/api/v1/reports: 说 (report, similar, 我也遇到), lists (mine, the worker's queue, staff), a report and its
timeline, and 办/评 transitions. Whistles and deliberations are in ``router_collab``, the public board in
``router_board``; static paths come before ``/{report_id}``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.auth.dependencies import CurrentUser, GridWorker, Staff
from backend.core.deps import SettingsDep
from backend.core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from backend.core.timeutil import utcnow
from backend.media.exceptions import MediaNotUsable
from backend.models.reports import ReportStatus
from backend.org.scope import unit_scope
from backend.reports import access, repository, service, views
from backend.reports.categories import taxonomy
from backend.reports.dependencies import SupportableReport, VisibleReport
from backend.reports.exceptions import (
    AlreadyEvaluated,
    AlreadyRated,
    AlreadySupported,
    BadChannel,
    BadTarget,
    CannotMerge,
    NotCommunityStaff,
    NotHandler,
    NotReporter,
    ReportChanged,
    ReportNotFound,
    TryAgain,
    UnknownCategory,
    Unroutable,
    VisitNotRecent,
    VisitNotYours,
)
from backend.reports.router_board import router as board_router
from backend.reports.router_collab import router as collab_router
from backend.reports.schemas import (
    AcceptIn,
    CategoryOut,
    EscalateIn,
    EvaluationIn,
    EvaluationOut,
    MergeIn,
    ProvideInfoIn,
    RateIn,
    ReassignIn,
    ReportIn,
    ReportItem,
    ReportOut,
    RequestInfoIn,
    ResolveIn,
    SimilarOut,
    SubCategoryOut,
    SupportOut,
    TimelineEvent,
    WithdrawIn,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
taxonomy()  # read and validate shared/report-categories.json when the app is built: a bad file stops the start

TRANSITION_ERRORS = responses(ReportNotFound, NotHandler, InvalidTransition, ReportChanged, TryAgain)
StatusFilter = Annotated[list[ReportStatus] | None, Query(description="按状态筛选（可多选）")]


async def _page(rows, limit: int) -> Page[ReportItem]:  # type: ignore[no-untyped-def]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=await views.items(rows), next_cursor=encode_cursor(rows[-1].id) if more and rows else None
    )


@router.get("/categories", response_model=list[CategoryOut])
async def categories():
    """上报分类（两级）。"""
    return [
        CategoryOut(
            code=c.code,
            name=c.name,
            default_level=c.default_level,
            children=[
                SubCategoryOut(
                    code=s.code, name=s.name, default_level=taxonomy().by_code[s.code].default_level
                )
                for s in c.children
            ],
        )
        for c in taxonomy().spec.categories
    ]


@router.post(
    "",
    response_model=ReportOut,
    status_code=201,
    responses=responses(
        UnknownCategory, BadChannel, BadTarget, Unroutable, MediaNotUsable, Forbidden, TryAgain, VisitNotYours,
        VisitNotRecent,
    ),
)
async def submit(principal: CurrentUser, settings: SettingsDep, body: ReportIn):
    """说：上报一个问题（工作人员可代居民上报，填 resident_id 和渠道）。自动分派到问题所在网格。"""
    report = await service.submit(principal, body)
    return await views.detail(principal, report, settings, staff=access.can_read_as_staff(principal, report))


@router.get("/similar", response_model=list[SimilarOut],
            responses=responses(UnknownCategory, BadTarget, ValidationFailed))
async def similar(
    principal: CurrentUser,
    category: Annotated[str, Query(max_length=40, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")],
    lat: Annotated[float | None, Query(ge=-90, le=90, description="纬度（GCJ-02）")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, description="经度（GCJ-02）")] = None,
    building_id: Annotated[
        int | None, Query(gt=0, le=2**62, description="同一楼栋的上报（无位置时按楼栋位置）")
    ] = None,
    radius_m: Annotated[int, Query(ge=50, le=2000)] = 300,
):
    """提交前：附近（或同一楼栋）一个月内同类、尚未办结的上报（可点“我也遇到”，不必重复上报）。"""
    if (lat is None) != (lng is None) or (lat is None and building_id is None):
        raise ValidationFailed("请提供位置（经纬度需同时提供）或楼栋", detail=[{"loc": "query.lat"}])
    return await service.similar(principal, category=category, lat=lat, lng=lng, building_id=building_id,
                                 radius_m=radius_m)


@router.get("/mine", response_model=Page[ReportItem])
async def mine(
    principal: CurrentUser, status: StatusFilter = None, cursor: CursorParam = None, limit: LimitParam = 20
):
    """我的上报（含工作人员代我上报的），最新的在前。"""
    rows = await repository.mine(principal.id, statuses=status, before_id=decode_cursor(cursor), limit=limit)
    return await _page(rows, limit)


@router.get("/queue", response_model=Page[ReportItem])
async def queue(
    principal: GridWorker,
    view: Annotated[
        Literal["new", "mine", "overdue"], Query(description="new 待受理 / mine 我办理中 / overdue 超时")
    ] = "new",
    cursor: CursorParam = None,
    limit: LimitParam = 20,
):
    """网格员（及以上）的待办：待我这一级受理的、我受理在办的、超时的。"""
    before = decode_cursor(cursor)
    if view == "new":
        rows = await repository.queue_new(access.handler_scopes(principal), before_id=before, limit=limit)
    elif view == "mine":
        rows = await repository.queue_mine(principal.id, before_id=before, limit=limit)
    else:
        rows = await repository.queue_overdue(
            access.staff_scope(principal), utcnow(), before_id=before, limit=limit
        )
    return await _page(rows, limit)


@router.get("", response_model=Page[ReportItem], responses=responses(NotFound))
async def staff_list(
    principal: Staff,
    status: StatusFilter = None,
    level: Annotated[Literal["grid", "community", "street"] | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9_.]*$")] = None,
    unit_id: Annotated[int | None, Query(gt=0, le=2**62, description="只看某个网格 / 社区")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
):
    """管辖范围内的上报。"""
    scope = access.staff_scope(principal)
    within = None
    if unit_id is not None:
        unit = await repository.unit(unit_id)
        if unit is None or not scope.covers(unit):
            raise NotFound("找不到该单位", detail={"loc": "query.unit_id"})
        within = unit_scope(unit)
    rows = await repository.staff_list(
        scope,
        within=within,
        statuses=status,
        level=level,
        category=category,
        before_id=decode_cursor(cursor),
        limit=limit,
    )
    return await _page(rows, limit)


# Their static paths (/whistle-targets, /deliberations, /board/…) must come before /{report_id}.
router.include_router(collab_router)
router.include_router(board_router)


@router.get("/{report_id}", response_model=ReportOut, responses=responses(ReportNotFound, Forbidden))
async def get_report(
    principal: CurrentUser,
    settings: SettingsDep,
    seen: VisibleReport,
    reveal: Annotated[bool, Query(description="显示上报人完整电话（留痕）")] = False,
):
    return await views.detail(
        principal, seen.report, settings, staff=seen.staff, reveal=reveal and seen.staff
    )


@router.get("/{report_id}/timeline", response_model=list[TimelineEvent], responses=responses(ReportNotFound))
async def timeline(settings: SettingsDep, seen: VisibleReport):
    """办理经过：上报人看到公开的记录，工作人员看到全部（含操作人、代办人）。"""
    return await views.timeline(seen.report, settings, staff=seen.staff)


@router.post(
    "/{report_id}/support",
    response_model=SupportOut,
    responses=responses(ReportNotFound, AlreadySupported, InvalidTransition),
)
async def support(principal: CurrentUser, report: SupportableReport):
    """我也遇到（每人每条一次）。"""
    report = await service.support(principal, report)
    return SupportOut(report_id=report.id, support_count=report.support_count)


async def _done(principal, settings, report) -> ReportOut:  # type: ignore[no-untyped-def]
    return await views.detail(principal, report, settings, staff=access.can_read_as_staff(principal, report))


@router.post("/{report_id}/accept", response_model=ReportOut, responses=TRANSITION_ERRORS)
async def accept(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: AcceptIn):
    """办：受理（开始办结时限）。"""
    return await _done(principal, settings, await service.accept(principal, seen.report, body))


@router.post("/{report_id}/request-info", response_model=ReportOut, responses=TRANSITION_ERRORS)
async def request_info(
    principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: RequestInfoIn
):
    """请居民补充信息（办结时限暂停）。"""
    return await _done(principal, settings, await service.request_info(principal, seen.report, body))


@router.post(
    "/{report_id}/provide-info",
    response_model=ReportOut,
    responses={**TRANSITION_ERRORS, **responses(NotReporter, MediaNotUsable)},
)
async def provide_info(
    principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: ProvideInfoIn
):
    """居民补充信息（或工作人员代为补充）。"""
    return await _done(principal, settings, await service.provide_info(principal, seen.report, body))


@router.post(
    "/{report_id}/resolve",
    response_model=ReportOut,
    responses={**TRANSITION_ERRORS, **responses(MediaNotUsable)},
)
async def resolve(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: ResolveIn):
    """办结，附办理结果和照片。"""
    return await _done(principal, settings, await service.resolve(principal, seen.report, body))


@router.post("/{report_id}/escalate", response_model=ReportOut, responses=TRANSITION_ERRORS)
async def escalate(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: EscalateIn):
    """上报上一级（网格 → 社区 → 街道），须写明原因。"""
    return await _done(principal, settings, await service.escalate(principal, seen.report, body))


@router.post(
    "/{report_id}/reassign", response_model=ReportOut, responses={**TRANSITION_ERRORS, **responses(BadTarget)}
)
async def reassign(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: ReassignIn):
    """改派到管辖范围内的另一个网格、社区或街道（重新计时）。"""
    return await _done(principal, settings, await service.reassign(principal, seen.report, body))


@router.post(
    "/{report_id}/merge", response_model=ReportOut, responses={**TRANSITION_ERRORS, **responses(CannotMerge)}
)
async def merge(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: MergeIn):
    """把重复上报合并到另一条（其上报人和“我也遇到”的人随之转过去）。"""
    return await _done(principal, settings, await service.merge(principal, seen.report, body))


@router.post(
    "/{report_id}/withdraw",
    response_model=ReportOut,
    responses={**TRANSITION_ERRORS, **responses(NotReporter)},
)
async def withdraw(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: WithdrawIn):
    """撤回（受理前或待补充时）。"""
    return await _done(principal, settings, await service.withdraw(principal, seen.report, body))


@router.post(
    "/{report_id}/rate",
    response_model=ReportOut,
    responses={**TRANSITION_ERRORS, **responses(NotReporter, AlreadyRated)},
)
async def rate(principal: CurrentUser, settings: SettingsDep, seen: VisibleReport, body: RateIn):
    """评：评价办理结果（1–2 分退回上一级重办）。工作人员可代录电话回访的评价。"""
    report, _ = await service.rate(principal, seen.report, body)
    return await _done(principal, settings, report)


@router.post(
    "/{report_id}/evaluations",
    response_model=EvaluationOut,
    status_code=201,
    responses=responses(ReportNotFound, NotCommunityStaff, InvalidTransition, AlreadyEvaluated),
)
async def evaluate(principal: CurrentUser, seen: VisibleReport, body: EvaluationIn):
    """专项评 / 组织评：社区对办理情况打分（0–100）。"""
    e = await service.evaluate(principal, seen.report, body)
    return EvaluationOut(
        id=e.id,
        report_id=e.report_id,
        kind=e.kind,
        kind_label=e.kind.label,
        score=e.score,
        comment=e.comment,
        subject_user_id=e.subject_user_id,
        created_at=e.created_at,
    )
