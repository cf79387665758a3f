"""Resident reports: what the routes and other domains call (``from backend.reports import service as reports``).

Each write opens one ``atomic()`` block holding the change, its history row, its clock (an outbox event) and its
notifications, so a 2xx means all of it committed; on PostgreSQL a new report without photos or an on-behalf
filing is all of that in one statement instead (``submission``), atomic by itself. Who may act is decided here
(``access``); which transitions exist is decided by ``workflow``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from backend.auth.principal import Principal
from backend.core import audit, sql
from backend.core.db import atomic
from backend.core.errors import Forbidden, InvalidTransition
from backend.core.timeutil import to_local, utcnow
from backend.media import service as media
from backend.models.org import OrgLevel
from backend.models.reports import (
    OPEN_STATUSES,
    Channel,
    Clock,
    Level,
    RatingChannel,
    Report,
    ReportEvaluation,
    ReportRating,
    ReportStatus,
    ReportSupport,
)
from backend.models.user import Role, User
from backend.org.scope import scope_of
from backend.reports import access, notices, repository, routing, submission, workflow
from backend.reports.categories import taxonomy
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
    UnknownCategory,
    Unroutable,
    VisitNotRecent,
    VisitNotYours,
)
from backend.reports.retry import retry_transient
from backend.reports.schemas import (
    AcceptIn,
    EscalateIn,
    EvaluationIn,
    MergeIn,
    ProvideInfoIn,
    RateIn,
    ReassignIn,
    ReportIn,
    RequestInfoIn,
    ResolveIn,
    SimilarOut,
    WithdrawIn,
)
from backend.users import repository as users_repository
from backend.users.merge import on_user_merged

Actor = workflow.Actor
MEDIA_OWNER = "report"
SIMILAR_DAYS = 30
VISIT_REPORT_DAYS = 7  # a visitor files from a visit of theirs this recent (staff in scope: any visit)


def _expect(report: Report, version: int | None) -> None:
    if version is not None and version != report.version:
        raise ReportChanged(detail={"version": report.version})


def _handler(principal: Principal, report: Report, action: str, version: int | None) -> Actor:
    """The state allows ``action`` (409 otherwise), the caller handles the report at its level (403)."""
    workflow.require(report, action)
    _expect(report, version)
    if not access.can_handle(principal, report):
        raise NotHandler(detail={"level": report.level})
    return Actor(principal.id)


def _reporter_side(principal: Principal, report: Report, action: str, version: int | None) -> Actor:
    """The reporter, or staff acting for them (recorded as on behalf of the reporter). Who comes first: someone
    else who may only read it (its filer, a summoned department) hears NotReporter whatever its state."""
    if access.is_reporter(principal, report):
        actor = Actor(principal.id)
    elif access.can_read_as_staff(principal, report):
        actor = Actor(principal.id, on_behalf_of=report.reporter_id)
    else:
        raise NotReporter()
    workflow.require(report, action)
    _expect(report, version)
    return actor


# ------------------------------------------------------------------------------------------------ 说


@dataclass(frozen=True)
class Filing:
    """Who a new report is in the name of, what household it is about, and the visit it was found on."""

    reporter: User
    household_id: int | None
    building_id: int | None
    visit_id: int | None = None


async def _filing(principal: Principal, body: ReportIn) -> Filing:
    if body.visit_id is not None:
        return await _visit_filing(principal, body)
    reporter = await _reporter_for(principal, body)
    return Filing(reporter, reporter.household_id, body.building_id)


async def _visit_filing(principal: Principal, body: ReportIn) -> Filing:
    """A problem found on a home visit: filed by its visitor (recent visits only) or by staff whose scope
    covers the visit, in the name of the visited household's resident (the visitor's own when it has no
    account), about that household, placed at its building unless another is named."""
    if body.channel is not Channel.VISIT:
        raise BadChannel("关联走访记录的上报，渠道应为入户走访（visit）", detail={"loc": "body.channel"})
    visit = await repository.visit(body.visit_id)  # type: ignore[arg-type]
    staff = visit is not None and access.staff_scope(principal).covers(visit)
    if visit is None or not (staff or visit.visitor_id == principal.id):
        raise VisitNotYours(detail={"loc": "body.visit_id"})
    if not staff and visit.effective_at < utcnow() - timedelta(days=VISIT_REPORT_DAYS):
        raise VisitNotRecent(detail={"loc": "body.visit_id", "days": VISIT_REPORT_DAYS})
    if body.resident_id is not None:
        resident = await repository.household_resident(visit.household_id, user_id=body.resident_id)
        if resident is None:
            raise BadTarget("该居民不是这次走访的住户", detail={"loc": "body.resident_id"})
    else:
        resident = await repository.household_resident(visit.household_id)
    return Filing(
        reporter=resident or principal.user,
        household_id=visit.household_id,
        building_id=body.building_id or visit.building_id,
        visit_id=visit.id,
    )


async def _reporter_for(principal: Principal, body: ReportIn) -> User:
    if body.resident_id is None:
        if body.channel is not Channel.APP and not principal.has(*access.READ_ROLES):
            raise BadChannel(detail={"loc": "body.channel"})
        return principal.user
    if not principal.has(*access.READ_ROLES):
        raise Forbidden("只有工作人员可以代居民上报")
    resident = await users_repository.user(access.staff_scope(principal), body.resident_id)
    if resident is None or not resident.is_active:
        raise BadTarget("找不到该居民，或不在您的管辖范围内", detail={"loc": "body.resident_id"})
    return resident


async def _position(body: ReportIn, place: routing.Place) -> tuple[float | None, float | None, str | None]:
    """The report's point: the one given, else its building's (named, or the reporter's household's) so that
    "我也遇到" and the map find it. Both are GCJ-02. (lat, lng, where it came from)."""
    if body.lat is not None and body.lng is not None:
        return body.lat, body.lng, None
    if place.building_id is not None:
        position = await routing.building_position(place.building_id)
        if position is not None:
            return position[0], position[1], "building"
    return None, None, None


@retry_transient
async def submit(principal: Principal, body: ReportIn) -> Report:
    """File a report (for oneself, or as staff for a resident), routed to the grid of its place."""
    category = taxonomy().get(body.category)
    if category is None:
        raise UnknownCategory(detail={"loc": "body.category", "category": body.category})
    filing = await _filing(principal, body)
    reporter = filing.reporter
    streets = scope_of(principal, tuple(Role)).streets
    place = await routing.route(
        building_id=filing.building_id,
        lat=body.lat,
        lng=body.lng,
        household_id=filing.household_id,
        streets=streets or None,
        fallback_units=[g.org_unit for g in principal.grants],
    )
    if place is None and filing.building_id is not None:
        raise BadTarget("找不到该楼栋", detail={"loc": "body.building_id"})
    if place is None:
        raise Unroutable()
    level = category.default_level
    if level is Level.GRID and place.grid_id is None:
        level = Level.COMMUNITY  # not placed in a grid: the community queue
    on_behalf = reporter.id != principal.id
    actor = Actor(principal.id, on_behalf_of=reporter.id if on_behalf else None)
    lat, lng, located = await _position(body, place)
    fields = dict(
        place.columns,
        household_id=place.household_id,
        reporter_id=reporter.id,
        filed_by_id=principal.id if on_behalf else None,
        description=body.description,
        channel=body.channel,
        lat=lat,
        lng=lng,
        address=body.address,
        photo_ids=list(body.photo_ids),
    )
    history = {"located_by": located} if located else {}
    if filing.visit_id is not None:
        history["visit_id"] = filing.visit_id
    if not sql.is_sqlite() and not body.photo_ids and not on_behalf:
        # one statement, atomic by itself: committed in one round trip (backend/reports/submission.py)
        return await submission.submit(fields, category=category, level=level, actor=actor, data=history)
    async with atomic():
        if sql.is_sqlite():
            report = await workflow.submit(fields, category=category, level=level, actor=actor, data=history)
            await notices.created(report, actor_id=principal.id)
        else:
            report = await submission.submit(
                fields, category=category, level=level, actor=actor, data=history
            )
        await media.attach(
            body.photo_ids, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=report.id
        )
        if on_behalf:
            await audit.record(
                "report:file_on_behalf",
                actor_id=principal.id,
                on_behalf_of_id=reporter.id,
                object_type="report",
                object_id=report.id,
                detail={"channel": body.channel.value, "visit_id": filing.visit_id},
            )
    return report


async def similar(
    principal: Principal,
    *,
    category: str,
    lat: float | None,
    lng: float | None,
    building_id: int | None = None,
    radius_m: float,
    limit: int = 10,
) -> list[SimilarOut]:
    """Open reports of the same category near a point, or about a building (and near it), in the last month:
    "我也遇到" instead of a duplicate. Only what the public board would show (no description, photos, names or
    exact places)."""
    if taxonomy().get(category) is None:
        raise UnknownCategory(detail={"loc": "query.category"})
    point = (lat, lng) if lat is not None and lng is not None else None
    if building_id is not None:
        if await routing.building(building_id) is None:
            raise BadTarget("找不到该楼栋", detail={"loc": "query.building_id"})
        point = point or await routing.building_position(building_id)
    dlat = radius_m / 111_320.0
    dlng = radius_m / (111_320.0 * max(math.cos(math.radians(point[0] if point else 0.0)), 0.01))
    rows = await repository.similar_open(
        category,
        since=utcnow() - timedelta(days=SIMILAR_DAYS),
        point=point,
        dlat=dlat,
        dlng=dlng,
        building_id=building_id,
        limit=limit * 3,
    )
    near = []
    for row in rows:
        if row.reporter_id == principal.id:
            continue
        same_building = building_id is not None and row.building_id == building_id
        if point is None or row.lat is None or row.lng is None:
            if same_building:
                near.append((0.0, row))
            continue
        d = routing.distance_m(point[0], point[1], row.lat, row.lng)
        if d <= radius_m or same_building:
            near.append((d, row))
    near.sort(key=lambda pair: (pair[0], -pair[1].id))
    near = near[:limit]
    mine = await repository.supported(principal.id, [r.id for _, r in near])
    return [
        SimilarOut(
            id=r.id,
            category_name=taxonomy().name_of(r.category),
            status_label=ReportStatus(r.status).label,
            distance_m=int(round(d / 50.0) * 50),
            support_count=r.support_count,
            supported=r.id in mine,
            created_on=f"{to_local(r.created_at):%Y-%m-%d}",
        )
        for d, r in near
    ]


@retry_transient
async def support(principal: Principal, report: Report) -> Report:
    """我也遇到: one per person per report; the count feeds the queues."""
    if ReportStatus(report.status) not in OPEN_STATUSES:
        raise InvalidTransition("该上报已办结，不能再点“我也遇到”", detail={"status": report.status})
    if access.is_reporter(principal, report):
        raise AlreadySupported("这是您自己的上报")
    async with atomic():
        try:
            async with atomic():
                await ReportSupport.create(report_id=report.id, user_id=principal.id)
        except IntegrityError as exc:
            raise AlreadySupported() from exc
        await Report.filter(id=report.id).update(support_count=F("support_count") + 1)
    report.support_count += 1
    return report


# ------------------------------------------------------------------------------------------------ 办


@retry_transient
async def accept(principal: Principal, report: Report, body: AcceptIn) -> Report:
    actor = _handler(principal, report, "accept", body.version)
    async with atomic():
        await workflow.accept(report, actor=actor, note=body.note)
        await notices.status_changed(report, actor_id=principal.id, note=body.note)
    return report


@retry_transient
async def request_info(principal: Principal, report: Report, body: RequestInfoIn) -> Report:
    actor = _handler(principal, report, "request_info", body.version)
    async with atomic():
        await workflow.request_info(report, actor=actor, question=body.question)
        await notices.status_changed(report, actor_id=principal.id, note=body.question)
    return report


@retry_transient
async def provide_info(principal: Principal, report: Report, body: ProvideInfoIn) -> Report:
    actor = _reporter_side(principal, report, "provide_info", body.version)
    async with atomic():
        await workflow.provide_info(report, actor=actor, note=body.note, photo_ids=list(body.photo_ids))
        await media.attach(
            body.photo_ids, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=report.id
        )
        if report.assignee_id and report.assignee_id != principal.id:
            await notices.notify_people(
                [report.assignee_id], report, title="居民已补充信息", body=body.note, actor_id=principal.id
            )
    return report


@retry_transient
async def resolve(principal: Principal, report: Report, body: ResolveIn) -> Report:
    actor = _handler(principal, report, "resolve", body.version)
    async with atomic():
        await workflow.resolve(
            report, actor=actor, note=body.note, public_note=body.public_note, photo_ids=list(body.photo_ids)
        )
        await media.attach(
            body.photo_ids, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=report.id
        )
        await notices.status_changed(report, actor_id=principal.id, note=body.note)
    return report


@retry_transient
async def escalate(principal: Principal, report: Report, body: EscalateIn) -> Report:
    actor = _handler(principal, report, "escalate", body.version)
    async with atomic():
        await workflow.escalate(report, actor=actor, reason=body.reason)
        await notices.escalated(report, actor_id=principal.id, reason=body.reason, automatic=False)
        await notices.status_changed(
            report, actor_id=principal.id, note=f"已转{Level(report.level).label}办理：{body.reason}"
        )
    return report


@retry_transient
async def reassign(principal: Principal, report: Report, body: ReassignIn) -> Report:
    """Send the report to another grid, community or street within the caller's reach (clocks restart)."""
    actor = _handler(principal, report, "reassign", body.version)
    unit = await repository.unit(body.unit_id)
    levels = {OrgLevel.GRID: Level.GRID, OrgLevel.COMMUNITY: Level.COMMUNITY, OrgLevel.STREET: Level.STREET}
    level = levels.get(OrgLevel(unit.level)) if unit else None
    if unit is None or level is None or not scope_of(principal, access.HANDLER_ROLES[level]).covers(unit):
        raise BadTarget(detail={"loc": "body.unit_id"})
    columns = _columns_for(report, unit, level)
    if level is Level(report.level) and getattr(report, f"{level.value}_id") == unit.id:
        raise BadTarget("该上报已由这个单位办理", detail={"loc": "body.unit_id"})
    async with atomic():
        await workflow.reassign(
            report, actor=actor, level=level, columns=columns, reason=body.reason, unit_id=unit.id
        )
        await notices.escalated(report, actor_id=principal.id, reason=f"改派：{body.reason}", automatic=False)
    return report


PLACE_COLUMNS = ("street_id", "community_id", "grid_id", "compound_id", "building_id")


def _columns_for(report: Report, unit: object, level: Level) -> dict[str, int | None]:
    """The place after a reassignment: the target's ancestors down to its level; the finer columns survive only
    when the report already lies inside the target."""
    depth = PLACE_COLUMNS.index(f"{level.value}_id")
    inside = getattr(report, PLACE_COLUMNS[depth]) == unit.id
    return {
        column: getattr(unit, column) if i <= depth else (getattr(report, column) if inside else None)
        for i, column in enumerate(PLACE_COLUMNS)
    }


@retry_transient
async def merge(principal: Principal, report: Report, body: MergeIn) -> Report:
    """Merge a duplicate into another open report: its reporter and supporters become the other's supporters."""
    actor = _handler(principal, report, "merge", body.version)
    into = await repository.get(body.into_report_id)
    if into is None or not access.can_read_as_staff(principal, into):
        raise ReportNotFound(detail={"loc": "body.into_report_id"})
    if into.id == report.id or ReportStatus(into.status) not in OPEN_STATUSES:
        raise CannotMerge(detail={"into_report_id": into.id, "status": into.status})
    async with atomic():
        await workflow.merge(report, into=into, actor=actor, note=body.note)
        added = await repository.absorb_supporters(report, into)
        await workflow.event(
            into, "merged_in", actor=actor, data={"from_report_id": report.id, "supporters": added}
        )
        await notices.status_changed(report, actor_id=principal.id, note=f"已与上报 #{into.id} 合并办理")
    return report


@retry_transient
async def withdraw(principal: Principal, report: Report, body: WithdrawIn) -> Report:
    actor = _reporter_side(principal, report, "withdraw", body.version)
    async with atomic():
        await workflow.withdraw(report, actor=actor, reason=body.reason)
        if report.assignee_id:
            await notices.notify_people(
                [report.assignee_id],
                report,
                title="居民撤回了上报",
                body=body.reason or "",
                actor_id=principal.id,
            )
    return report


# ------------------------------------------------------------------------------------------------ 评


@retry_transient
async def rate(principal: Principal, report: Report, body: RateIn) -> tuple[Report, ReportRating]:
    """The reporter's rating of this resolution (staff may record one taken by phone). 1–2 reopens the report
    one level up; 3–5 closes it."""
    action = "close" if body.score >= 3 else "reopen"
    actor = _reporter_side(principal, report, action, body.version)
    channel = RatingChannel.APP if actor.on_behalf_of is None else RatingChannel.PHONE
    async with atomic():
        try:
            async with atomic():
                rating = await ReportRating.create(
                    report_id=report.id,
                    round=report.round,
                    score=body.score,
                    comment=body.comment,
                    rated_by_id=principal.id,
                    on_behalf_of_id=actor.on_behalf_of,
                    channel=channel,
                )
        except IntegrityError as exc:
            raise AlreadyRated() from exc
        if action == "close":
            await workflow.close(
                report, actor=actor, score=body.score, comment=body.comment, rating_id=rating.id
            )
        else:
            await workflow.reopen(
                report, actor=actor, score=body.score, comment=body.comment, rating_id=rating.id
            )
            await notices.escalated(
                report,
                actor_id=principal.id,
                automatic=False,
                reason=f"居民评价{body.score}分，退回重新办理：{body.comment or ''}",
            )
        if actor.on_behalf_of is not None:
            await audit.record(
                "report:rate_by_phone",
                actor_id=principal.id,
                on_behalf_of_id=report.reporter_id,
                object_type="report",
                object_id=report.id,
                detail={"score": body.score},
            )
            await notices.status_changed(report, actor_id=principal.id)
    return report, rating


@retry_transient
async def evaluate(principal: Principal, report: Report, body: EvaluationIn) -> ReportEvaluation:
    """专项评 / 组织评: the community's score of how the report was handled (once per kind), after it was."""
    if not access.in_community_scope(principal, report):
        raise NotCommunityStaff("只有本社区两委或街道可以评价办理情况")
    if ReportStatus(report.status) not in (ReportStatus.RESOLVED, ReportStatus.CLOSED):
        raise InvalidTransition("办结后才能评价办理情况", detail={"status": report.status})
    async with atomic():
        try:
            async with atomic():
                evaluation = await ReportEvaluation.create(
                    report_id=report.id,
                    kind=body.kind,
                    score=body.score,
                    comment=body.comment,
                    subject_user_id=report.assignee_id,
                    evaluator_id=principal.id,
                )
        except IntegrityError as exc:
            raise AlreadyEvaluated() from exc
        await workflow.event(
            report,
            "evaluation",
            actor=Actor(principal.id),
            note=body.comment,
            public=False,
            data={"evaluation_id": evaluation.id, "kind": body.kind.value, "score": body.score},
        )
    return evaluation


# ------------------------------------------------------------------------------------------------ clocks


async def on_clock(report_id: int, version: int, clock: str) -> str:
    """A clock's timer fired. It acts only if the report is still where the timer left it (same version and
    clock); a timer that fires after the state moved on does nothing. Returns what happened."""
    report = await repository.get(report_id)
    if (
        report is None
        or report.version != version
        or report.clock is None
        or Clock(report.clock).value != clock
    ):
        return "stale"
    previous = await notices.team(report)
    try:
        async with atomic():
            if Clock(clock) is Clock.CLOSE:
                await workflow.auto_close(report)
                return "closed"
            if Level(report.level).up is None:
                await workflow.mark_overdue(report, clock=Clock(clock))
                await notices.overdue(report, clock=clock, previous=previous)
                return "overdue"
            await workflow.auto_escalate(report, clock=Clock(clock))
            await notices.escalated(
                report,
                actor_id=None,
                automatic=True,
                previous=previous,
                reason=f"{'受理' if clock == 'accept' else '办结'}超时，已自动上报{Level(report.level).label}",
            )
            await notices.overdue(report, clock=clock, previous=previous)
            await notices.status_changed(report, actor_id=None, note=f"已转{Level(report.level).label}办理")
            return "escalated"
    except (ReportChanged, InvalidTransition):
        return "stale"  # a person acted between our read and our update: their change stands


# ------------------------------------------------------------------------------------------------ merging users


@on_user_merged
async def _move_reports(from_user_id: int, to_user_id: int) -> None:
    """A placeholder account (registered by staff for a resident) merged into the real one: its reports,
    supports and votes follow it. History rows keep who acted at the time."""
    await repository.move_reporter(from_user_id, to_user_id)
    await repository.move_supports(from_user_id, to_user_id)
    await repository.move_votes(from_user_id, to_user_id)


async def _may_see_report(principal: Principal, report_id: int) -> bool:
    report = await repository.get(report_id)
    return report is not None and await can_read(principal, report)


async def can_read(principal: Principal, report: Report) -> bool:
    """The reporter, who filed it for them, staff whose scope covers it, and departments summoned to it may read a
    report (and its photos)."""
    if access.is_reporter(principal, report) or access.is_filer(principal, report) \
            or access.can_read_as_staff(principal, report):
        return True
    departments = scope_of(principal, (Role.DEPARTMENT_STAFF,)).departments
    return bool(departments) and await repository.whistled_to(report.id, departments)


media.register_access(MEDIA_OWNER, _may_see_report)
