"""Loaders for the ``{id}`` routes: the object if the caller may see it, else 404 (never 403, so that what lies
outside one's scope is not revealed). Whether the caller may *act* on what they see is the service's call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.reports import Deliberation, Report, WhistleTarget
from backend.models.user import Role
from backend.org.scope import Scope, scope_of
from backend.reports import access, repository, service
from backend.reports.exceptions import (
    BoardNotFound,
    DeliberationNotFound,
    ReportNotFound,
    WhistleTargetNotFound,
)

Id = Annotated[int, Path(gt=0, le=2**62)]


@dataclass
class Seen:
    """A report and how much of it the caller sees: ``staff`` (everything) or the reporter's own view."""

    report: Report
    staff: bool


async def _seen(principal: CurrentUser, report_id: int) -> Seen:
    report = await repository.get(report_id)
    if report is not None:
        if access.can_read_as_staff(principal, report):
            return Seen(report, staff=True)
        departments = scope_of(principal, (Role.DEPARTMENT_STAFF,)).departments
        if departments and await repository.whistled_to(report.id, departments):
            return Seen(report, staff=True)
        if access.is_reporter(principal, report) or access.is_filer(principal, report):
            return Seen(report, staff=False)
    raise ReportNotFound()


async def visible_report(principal: CurrentUser, report_id: Id) -> Seen:
    return await _seen(principal, report_id)


async def supportable_report(principal: CurrentUser, report_id: Id) -> Report:
    """A report the caller may say "我也遇到" to: one in a street they live or work in (found through the
    similar-reports list, which shows only what the public board shows)."""
    report = await repository.get(report_id)
    if report is None or not scope_of(principal, tuple(Role)).touches_street(report.street_id):
        raise ReportNotFound()
    return report


async def visible_target(principal: CurrentUser, target_id: Id) -> WhistleTarget:
    target = await repository.target(target_id)
    if target is None:
        raise WhistleTargetNotFound()
    if scope_of(principal, (Role.DEPARTMENT_STAFF,)).covers_department(target.department_id):
        return target
    report = await repository.get(target.report_id)
    if report is None or not access.can_read_as_staff(principal, report):
        raise WhistleTargetNotFound()
    return target


@dataclass
class SeenDeliberation:
    deliberation: Deliberation
    staff: bool  # staff see the minutes; residents of the community see the topic, options, tally, decision
    household_id: int | None


async def visible_deliberation(principal: CurrentUser, deliberation_id: Id) -> SeenDeliberation:
    found = await repository.deliberation(deliberation_id)
    if found is None:
        raise DeliberationNotFound()
    household_id = principal.user.household_id
    if await service.can_read(principal, found.report):
        return SeenDeliberation(found, staff=True, household_id=household_id)
    household = await Household.get_or_none(id=household_id) if household_id else None
    community = Scope(units={OrgLevel.COMMUNITY: frozenset({found.report.community_id or 0})})
    if household is not None and community.covers(household):
        return SeenDeliberation(found, staff=False, household_id=household_id)
    raise DeliberationNotFound()


async def board_community(community_id: Id) -> OrgUnit:
    """Any community's board is public (it is anonymous)."""
    unit = await repository.unit(community_id)
    if unit is None or OrgLevel(unit.level) is not OrgLevel.COMMUNITY:
        raise BoardNotFound()
    return unit


VisibleReport = Annotated[Seen, Depends(visible_report)]
SupportableReport = Annotated[Report, Depends(supportable_report)]
VisibleTarget = Annotated[WhistleTarget, Depends(visible_target)]
VisibleDeliberation = Annotated[SeenDeliberation, Depends(visible_deliberation)]
BoardCommunity = Annotated[OrgUnit, Depends(board_community)]
