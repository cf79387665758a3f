"""议: deliberations on a report (居民议事会, 社区两委, 街社联合) with participants, minutes, a decision that is
attached to the report's timeline, and optionally a vote of the community's households (one per household,
a unique key)."""

from __future__ import annotations

from datetime import timedelta

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.core.db import atomic
from backend.core.errors import InvalidTransition
from backend.core.timeutil import utcnow
from backend.models.org import Household, OrgLevel
from backend.models.reports import (
    OPEN_STATUSES,
    Deliberation,
    DeliberationKind,
    DeliberationStatus,
    DeliberationVote,
    Report,
    ReportStatus,
)
from backend.org.scope import Scope
from backend.reports import access, notices, repository, workflow
from backend.reports.exceptions import (
    AlreadyDecided,
    AlreadyVoted,
    BadVoteOption,
    CannotVote,
    NotCommunityStaff,
    VotingClosed,
)
from backend.reports.retry import retry_transient
from backend.reports.schemas import DecisionIn, DeliberationIn, DeliberationOut, VoteIn


def _may_run(principal: Principal, report: Report, kind: DeliberationKind) -> None:
    allowed = (
        access.in_street_scope if kind is DeliberationKind.STREET_COMMUNITY else access.in_community_scope
    )(principal, report)
    if not allowed:
        raise NotCommunityStaff("街社联合议事由街道发起，其他议事由社区两委发起")


@retry_transient
async def open_(principal: Principal, report: Report, body: DeliberationIn) -> Deliberation:
    _may_run(principal, report, body.kind)
    if ReportStatus(report.status) not in OPEN_STATUSES:
        raise InvalidTransition("上报已办结或关闭，不能再发起议事", detail={"status": report.status})
    closes = utcnow() + timedelta(hours=body.vote_hours) if body.vote_hours else None
    async with atomic():
        deliberation = await Deliberation.create(
            report_id=report.id,
            kind=body.kind,
            topic=body.topic,
            participants=list(body.participants),
            opened_by_id=principal.id,
            vote_options=body.vote_options,
            vote_closes_at=closes,
        )
        await workflow.event(
            report,
            "deliberation_opened",
            actor=workflow.Actor(principal.id),
            note=body.topic,
            data={"deliberation_id": deliberation.id, "kind": body.kind.value},
        )
    return deliberation


async def vote(principal: Principal, deliberation: Deliberation, body: VoteIn) -> DeliberationVote:
    """One vote per household of the report's community, while the vote is open."""
    report = deliberation.report
    if (
        DeliberationStatus(deliberation.status) is not DeliberationStatus.OPEN
        or not deliberation.vote_options
        or deliberation.vote_closes_at is None
        or deliberation.vote_closes_at <= utcnow()
    ):
        raise VotingClosed()
    household = (
        await Household.get_or_none(id=principal.user.household_id) if principal.user.household_id else None
    )
    community = Scope(units={OrgLevel.COMMUNITY: frozenset({report.community_id or 0})})
    if household is None or not community.covers(household):
        raise CannotVote()
    if body.option not in deliberation.vote_options:
        raise BadVoteOption(detail={"loc": "body.option", "options": deliberation.vote_options})
    try:
        async with atomic():
            return await DeliberationVote.create(
                deliberation_id=deliberation.id,
                household_id=household.id,
                user_id=principal.id,
                option=body.option,
            )
    except IntegrityError as exc:
        raise AlreadyVoted() from exc


@retry_transient
async def decide(principal: Principal, deliberation: Deliberation, body: DecisionIn) -> Deliberation:
    """Minutes and a decision; the decision (with the vote's tally) goes onto the report's timeline."""
    report = deliberation.report
    _may_run(principal, report, DeliberationKind(deliberation.kind))
    tally = (
        (await repository.tallies([deliberation.id]))[deliberation.id] if deliberation.vote_options else None
    )
    now = utcnow()
    async with atomic():
        won = await Deliberation.filter(id=deliberation.id, status=DeliberationStatus.OPEN).update(
            status=DeliberationStatus.DECIDED,
            minutes=body.minutes,
            decision=body.decision,
            decided_by_id=principal.id,
            decided_at=now,
        )
        if not won:
            raise AlreadyDecided()
        await workflow.event(
            report,
            "deliberation_decided",
            actor=workflow.Actor(principal.id),
            note=body.decision,
            data={"deliberation_id": deliberation.id, "kind": deliberation.kind, "tally": tally},
        )
        await notices.notify_people(
            [report.reporter_id],
            report,
            title="您的上报已议事形成决定",
            body=body.decision,
            actor_id=principal.id,
        )
    await deliberation.refresh_from_db()
    return deliberation


async def out(deliberations: list[Deliberation], *, household_id: int | None) -> list[DeliberationOut]:
    ids = [d.id for d in deliberations]
    tallies = await repository.tallies(ids)
    mine = await repository.my_votes(household_id, ids)
    return [
        DeliberationOut(
            id=d.id,
            report_id=d.report_id,
            kind=d.kind,
            kind_label=DeliberationKind(d.kind).label,
            topic=d.topic,
            status=d.status,
            participants=list(d.participants or []),
            vote_options=d.vote_options,
            vote_closes_at=d.vote_closes_at,
            tally=tallies.get(d.id) if d.vote_options else None,
            minutes=d.minutes,
            decision=d.decision,
            decided_at=d.decided_at,
            created_at=d.created_at,
            my_vote=mine.get(d.id),
        )
        for d in deliberations
    ]
