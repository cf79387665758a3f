"""What the visits routes (and other domains) call: assignments (党员联户), check-ins and their sync, reviews of
flagged visits, and found problems (solved on the spot, or filed as a report in one tap).

Each write is one ``atomic()`` block holding the change, its history row and its notifications.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core.db import atomic
from backend.core.errors import AppError, InvalidTransition
from backend.core.timeutil import utcnow
from backend.models.org import Household
from backend.models.reports import Channel, Report
from backend.models.visits import (
    Assignment,
    AssignmentSpan,
    ReviewStatus,
    Visit,
    VisitEvent,
    VisitProblem,
    VisitSource,
)
from backend.notifications.service import notify
from backend.reports import service as reports
from backend.reports.schemas import ReportIn
from backend.visits import repository, sync
from backend.visits.access import manager_scope, visitor_reach
from backend.visits.enums import ASSIGNED, TAGS
from backend.visits.exceptions import (
    AssignmentChanged,
    HouseholdNotFound,
    NotAVisitor,
    ProblemAlreadyReported,
    ProblemAlreadySolved,
    VisitConflict,
    VisitorNotFound,
)
from backend.visits.schemas import AssignIn, AssignOut, CheckInIn, ProblemReportIn, ReviewIn, SyncIn

# ------------------------------------------------------------------------------------------------ assignments


async def assign(principal: Principal, body: AssignIn) -> AssignOut:
    """Give households to a visitor, taking them from whoever held them (history kept as spans). All or nothing."""
    households = await repository.households_by_ids(manager_scope(principal), body.household_ids)
    missing = sorted(set(body.household_ids) - {h.id for h in households})
    if missing:
        raise HouseholdNotFound(detail={"household_ids": missing[:50]})
    names = await repository.user_names([body.visitor_id])
    if body.visitor_id not in names:
        raise VisitorNotFound(detail={"visitor_id": body.visitor_id})
    reach = visitor_reach(await repository.visitor_grants(body.visitor_id))
    outside = [h.id for h in households if not reach.covers(h)]
    if outside:
        raise NotAVisitor(detail={"household_ids": outside[:50]})
    current = await repository.current_assignments(h.id for h in households)
    result = AssignOut(assigned=0, moved=0, unchanged=0)
    previous_holders: dict[int, int] = {}
    now = utcnow()
    async with atomic():
        for h in households:
            held = current.get(h.id)
            if held is not None and held.visitor_id == body.visitor_id:
                result.unchanged += 1
                continue
            if held is None:
                await _create_assignment(principal, h, body, now)
                result.assigned += 1
            else:
                await _move_assignment(principal, held, body, now)
                previous_holders[held.visitor_id] = previous_holders.get(held.visitor_id, 0) + 1
                result.moved += 1
            await AssignmentSpan.create(household_id=h.id, visitor_id=body.visitor_id, started_at=now,
                                        assigned_by_id=principal.id, reason=body.reason, **_place(h))
        if result.assigned or result.moved:
            count = result.assigned + result.moved
            await notify([body.visitor_id], ASSIGNED, {
                "title": f"您新联系了 {count} 户居民", "link": "/pages/visits/plan",
                "body": body.reason or "请在走访计划中查看", "data": {"households": count}}, actor_id=principal.id)
        for holder, n in previous_holders.items():
            await notify([holder], ASSIGNED, {
                "title": f"您联系的 {n} 户已改由其他人员联系", "link": "/pages/visits/plan",
                "body": body.reason or "", "data": {"households": -n}}, actor_id=principal.id)
    return result


def _place(h: Household) -> dict[str, int | None]:
    return {"street_id": h.street_id, "community_id": h.community_id, "grid_id": h.grid_id,
            "compound_id": h.compound_id, "building_id": h.building_id}


async def _create_assignment(principal: Principal, h: Household, body: AssignIn, now) -> None:  # type: ignore[no-untyped-def]
    try:
        async with atomic():
            await Assignment.create(household_id=h.id, visitor_id=body.visitor_id, assigned_by_id=principal.id,
                                    assigned_at=now, reason=body.reason, **_place(h))
    except IntegrityError as exc:  # someone assigned it between our read and now
        raise AssignmentChanged(detail={"household_id": h.id}) from exc


async def _move_assignment(principal: Principal, held: Assignment, body: AssignIn, now) -> None:  # type: ignore[no-untyped-def]
    moved = await Assignment.filter(id=held.id, visitor_id=held.visitor_id).update(
        visitor_id=body.visitor_id, assigned_by_id=principal.id, assigned_at=now, reason=body.reason)
    if not moved:
        raise AssignmentChanged(detail={"household_id": held.household_id})
    await _close_span(principal, held.household_id, now, body.reason)


async def _close_span(principal: Principal, household_id: int, now, reason: str | None) -> None:  # type: ignore[no-untyped-def]
    await AssignmentSpan.filter(household_id=household_id, ended_at=None).update(
        ended_at=now, ended_by_id=principal.id, end_reason=reason)


async def unassign(principal: Principal, assignment: Assignment, reason: str | None) -> None:
    now = utcnow()
    async with atomic():
        gone = await Assignment.filter(id=assignment.id, visitor_id=assignment.visitor_id).delete()
        if not gone:
            raise AssignmentChanged(detail={"household_id": assignment.household_id})
        await _close_span(principal, assignment.household_id, now, reason)


# ------------------------------------------------------------------------------------------------ check-ins


async def check_in(principal: Principal, body: CheckInIn, settings: Settings) -> tuple[Visit, bool]:
    """One online check-in: (the visit, created?). A different visit under the same client id is a 409."""
    item = body  # a CheckInIn is a VisitIn with the phone's send time
    received = sync.Received(at=utcnow(), sent_at=body.sent_at, source=VisitSource.ONLINE)
    outcome = await sync.check_in(principal, item, received, settings)
    if outcome.outcome == "conflict":
        raise VisitConflict(sync.CONFLICT_MESSAGES[outcome.conflict or "different_content"],
                            detail={"reason": outcome.conflict, "fields": outcome.fields,
                                    "server_version": outcome.visit.version if outcome.visit else None})
    assert outcome.visit is not None
    return outcome.visit, outcome.outcome == "created"


async def sync_batch(principal: Principal, body: SyncIn, settings: Settings) -> tuple[sync.Received, list]:  # type: ignore[type-arg]
    """Take a batch recorded offline: one transaction per visit, one result per visit, in order."""
    received = sync.Received(at=utcnow(), sent_at=body.sent_at, source=VisitSource.OFFLINE)
    results: list[tuple[object, sync.Outcome]] = []
    for item in body.items:
        try:
            outcome = await sync.check_in(principal, item, received, settings)
        except AppError as exc:  # this visit cannot be taken (not your household, photo in use…): say why
            outcome = sync.Outcome("rejected", error=exc)
        results.append((item, outcome))
    return received, results


# ------------------------------------------------------------------------------------------------ review


async def review(principal: Principal, visit: Visit, body: ReviewIn) -> Visit:
    """A grid leader accepts or rejects a visit (typically a flagged one); a rejected visit counts for nothing."""
    target = ReviewStatus.ACCEPTED if body.decision == "accept" else ReviewStatus.REJECTED
    now = utcnow()
    async with atomic():
        changed = await Visit.filter(id=visit.id, version=visit.version).update(
            review_status=target, reviewed_by_id=principal.id, reviewed_at=now, review_note=body.note,
            version=visit.version + 1, updated_at=now)
        if not changed:
            raise InvalidTransition("走访记录刚被修改过，请刷新后再审核", detail={"version": visit.version})
        await VisitEvent.create(visit_id=visit.id, action="reviewed", actor_id=principal.id,
                                from_version=visit.version, to_version=visit.version + 1,
                                data={"from": visit.review_status, "to": target.value, "note": body.note})
    visit.update_from_dict({"review_status": target, "reviewed_by_id": principal.id, "reviewed_at": now,
                            "review_note": body.note, "version": visit.version + 1, "updated_at": now})
    return visit


# ------------------------------------------------------------------------------------------------ problems


async def solve(principal: Principal, problem: VisitProblem, note: str) -> VisitProblem:
    now = utcnow()
    async with atomic():
        done = await VisitProblem.filter(id=problem.id, solved_at=None).update(
            solved_at=now, solved_by_id=principal.id, solve_note=note)
        if not done:
            raise ProblemAlreadySolved()
        await VisitEvent.create(visit_id=problem.visit_id, action="problem_solved", actor_id=principal.id,
                                data={"problem_id": problem.id, "tag": problem.tag, "note": note})
    problem.update_from_dict({"solved_at": now, "solved_by_id": principal.id, "solve_note": note})
    return problem


async def file_report(principal: Principal, problem: VisitProblem, body: ProblemReportIn) -> Report:
    """一键上报: file the found problem as a report through the reports service, linked to the visit.

    Channel 入户走访 with the visit named, by the visitor (a party member too: the visit must be theirs
    and recent) or by staff whose scope covers it: the reports service files it in the name of the
    household's resident (the filer's own when the household has no account) with the household as its
    subject, and records the real actor. Both writes are one transaction: a second tap on the same problem
    rolls its report back (ProblemAlreadyReported)."""
    if problem.report_id is not None:
        raise ProblemAlreadyReported(detail={"report_id": problem.report_id})
    visit = await Visit.get(id=problem.visit_id)
    tag = TAGS[problem.tag]
    label = (await repository.labels([problem.household_id])).get(problem.household_id, "")
    description = body.description or f"入户走访发现：{tag.label}。{visit.notes or ''}".strip()[:1000]
    report_in = ReportIn(
        category=body.category or tag.category, description=description, photo_ids=body.photo_ids,
        building_id=visit.building_id, address=label[:200] or None, channel=Channel.VISIT, visit_id=visit.id,
    )
    async with atomic():
        report = await reports.submit(principal, report_in)
        linked = await VisitProblem.filter(id=problem.id, report_id=None).update(report_id=report.id)
        if not linked:
            raise ProblemAlreadyReported()
        await VisitEvent.create(visit_id=visit.id, action="report_filed", actor_id=principal.id,
                                data={"problem_id": problem.id, "report_id": report.id, "tag": problem.tag})
    problem.report_id = report.id
    return report
