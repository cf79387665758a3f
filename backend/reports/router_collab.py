"""吹哨报到 and 议: whistles to departments (报到, progress) and deliberations (minutes, decision, household vote).
Included by ``router`` under /api/v1/reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.dependencies import CurrentUser
from backend.core.errors import Forbidden, InvalidTransition, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from backend.core.timeutil import utcnow
from backend.media.exceptions import MediaNotUsable
from backend.models.org import Household, OrgLevel
from backend.models.reports import WhistleStatus
from backend.models.user import Role
from backend.org.scope import Scope, scope_of
from backend.reports import access, deliberations, repository, whistles
from backend.reports.dependencies import VisibleDeliberation, VisibleReport, VisibleTarget
from backend.reports.exceptions import (
    AlreadyDecided,
    AlreadyVoted,
    BadTarget,
    BadVoteOption,
    CannotVote,
    DeliberationNotFound,
    NotCommunityStaff,
    NotDepartment,
    ReportNotFound,
    VotingClosed,
    WhistleTargetNotFound,
)
from backend.reports.schemas import (
    DecisionIn,
    DeliberationIn,
    DeliberationOut,
    ProgressIn,
    VoteIn,
    WhistleIn,
    WhistleOut,
    WhistleTargetOut,
)

router = APIRouter()


@router.get("/whistle-targets", response_model=Page[WhistleTargetOut])
async def my_whistles(
    principal: CurrentUser,
    status: Annotated[list[WhistleStatus] | None, Query(description="按状态筛选")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
):
    """部门工作人员：吹给本部门的哨（待报到、已报到、已完成）。"""
    departments = scope_of(principal, (Role.DEPARTMENT_STAFF,)).departments
    rows = (
        await repository.department_targets(
            departments, statuses=status, before_id=decode_cursor(cursor), limit=limit
        )
        if departments
        else []
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=await whistles.target_out(rows),
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


@router.post(
    "/whistle-targets/{target_id}/acknowledge",
    response_model=WhistleTargetOut,
    responses=responses(WhistleTargetNotFound, NotDepartment, InvalidTransition),
)
async def acknowledge(principal: CurrentUser, target: VisibleTarget):
    """报到。"""
    return (await whistles.target_out([await whistles.acknowledge(principal, target)]))[0]


@router.post(
    "/whistle-targets/{target_id}/progress",
    response_model=WhistleTargetOut,
    responses=responses(WhistleTargetNotFound, NotDepartment, InvalidTransition, MediaNotUsable),
)
async def progress(principal: CurrentUser, target: VisibleTarget, body: ProgressIn):
    """反馈进展（done=true 表示本部门已办完）。"""
    return (await whistles.target_out([await whistles.progress(principal, target, body)]))[0]


@router.get("/deliberations", response_model=list[DeliberationOut])
async def open_votes(principal: CurrentUser):
    """正在表决的议事：居民看到本社区的，工作人员看到管辖范围内的。"""
    scope = access.staff_scope(principal)
    household_id = principal.user.household_id
    if household_id is not None:
        household = await Household.get_or_none(id=household_id)
        if household is not None and household.community_id is not None:
            scope = scope.union(Scope(units={OrgLevel.COMMUNITY: frozenset({household.community_id})}))
    if scope.is_empty:
        return []
    rows = await repository.open_votes(scope, utcnow())
    out = await deliberations.out(rows, household_id=household_id)
    for item in out:
        item.minutes = None  # the minutes are on the detail route, for staff
    return out


@router.get(
    "/deliberations/{deliberation_id}",
    response_model=DeliberationOut,
    responses=responses(DeliberationNotFound),
)
async def get_deliberation(seen: VisibleDeliberation):
    out = (await deliberations.out([seen.deliberation], household_id=seen.household_id))[0]
    if not seen.staff:
        out.minutes = None
    return out


@router.post(
    "/deliberations/{deliberation_id}/votes",
    response_model=DeliberationOut,
    status_code=201,
    responses=responses(DeliberationNotFound, VotingClosed, CannotVote, BadVoteOption, AlreadyVoted),
)
async def vote(principal: CurrentUser, seen: VisibleDeliberation, body: VoteIn):
    """表决（每户一票）。"""
    await deliberations.vote(principal, seen.deliberation, body)
    out = (await deliberations.out([seen.deliberation], household_id=seen.household_id))[0]
    if not seen.staff:
        out.minutes = None
    return out


@router.post(
    "/deliberations/{deliberation_id}/decision",
    response_model=DeliberationOut,
    responses=responses(DeliberationNotFound, NotCommunityStaff, AlreadyDecided),
)
async def decide(principal: CurrentUser, seen: VisibleDeliberation, body: DecisionIn):
    """记录会议纪要和决定（写入上报的办理经过）。"""
    decided = await deliberations.decide(principal, seen.deliberation, body)
    return (await deliberations.out([decided], household_id=seen.household_id))[0]


@router.post(
    "/{report_id}/whistles",
    response_model=WhistleOut,
    status_code=201,
    responses=responses(ReportNotFound, NotCommunityStaff, InvalidTransition, BadTarget),
)
async def blow(principal: CurrentUser, seen: VisibleReport, body: WhistleIn):
    """吹哨：通知一个或多个职能部门限时报到、办理。"""
    whistle = await whistles.blow(principal, seen.report, body)
    return next(w for w in await whistles.whistles_out(seen.report) if w.id == whistle.id)


@router.get(
    "/{report_id}/whistles", response_model=list[WhistleOut], responses=responses(ReportNotFound, Forbidden)
)
async def list_whistles(seen: VisibleReport):
    """该上报的吹哨和各部门报到情况（工作人员和部门可见）。"""
    if not seen.staff:
        raise Forbidden("吹哨详情仅工作人员可见")
    return await whistles.whistles_out(seen.report)


@router.post(
    "/{report_id}/deliberations",
    response_model=DeliberationOut,
    status_code=201,
    responses=responses(ReportNotFound, NotCommunityStaff, InvalidTransition),
)
async def open_deliberation(principal: CurrentUser, seen: VisibleReport, body: DeliberationIn):
    """议：发起议事（可附每户一票的表决）。"""
    deliberation = await deliberations.open_(principal, seen.report, body)
    return (await deliberations.out([deliberation], household_id=principal.user.household_id))[0]


@router.get(
    "/{report_id}/deliberations", response_model=list[DeliberationOut], responses=responses(ReportNotFound)
)
async def list_deliberations(principal: CurrentUser, seen: VisibleReport):
    out = await deliberations.out(
        await repository.deliberations_of(seen.report.id), household_id=principal.user.household_id
    )
    if not seen.staff:
        for item in out:
            item.minutes = None
    return out
