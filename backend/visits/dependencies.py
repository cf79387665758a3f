"""Loaders for the ``{id}`` routes of the visits domain: the object if the caller may see it (or act on it, for
the managers' routes), else 404 — what lies outside one's scope is not revealed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from backend.auth.dependencies import require_roles
from backend.auth.principal import Principal
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.visits import Assignment, HouseholdMember, Visit, VisitMonth, VisitProblem
from backend.org.scope import scope_of
from backend.visits import repository
from backend.visits.access import can_see_visit, field_scope, manager_scope, policy_scope, reachable_household
from backend.visits.enums import FIELD_STAFF, MANAGERS, POLICY_EDITORS, VISITOR_ROLES
from backend.visits.exceptions import (
    HouseholdNotFound,
    MemberNotFound,
    MonthNotFound,
    ProblemNotFound,
    UnitNotFound,
    VisitNotFound,
    WrongUnitLevel,
)

Id = Annotated[int, Path(gt=0, le=2**62)]
VISIT_ROLES = tuple(dict.fromkeys((*VISITOR_ROLES, *FIELD_STAFF)))
REPORT_READERS = tuple(dict.fromkeys((*FIELD_STAFF, *MANAGERS)))

Visitor = Annotated[Principal, Depends(require_roles(*VISIT_ROLES))]
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
PolicyEditor = Annotated[Principal, Depends(require_roles(*POLICY_EDITORS))]
ReportReader = Annotated[Principal, Depends(require_roles(*REPORT_READERS))]


async def visible_visit(principal: Visitor, visit_id: Id) -> Visit:
    visit = await repository.visit(visit_id)
    if visit is None or not can_see_visit(principal, visit):
        raise VisitNotFound()
    return visit


async def reviewable_visit(principal: Manager, visit_id: Id) -> Visit:
    visit = await repository.visit(visit_id)
    if visit is None or not manager_scope(principal).covers(visit):
        raise VisitNotFound()
    return visit


async def workable_problem(principal: Visitor, problem_id: Id) -> VisitProblem:
    """A problem the caller may solve or report: found by them, or in their field scope."""
    problem = await repository.problem(problem_id)
    if problem is None or not (problem.visitor_id == principal.id or field_scope(principal).covers(problem)):
        raise ProblemNotFound()
    return problem


async def household_in_reach(principal: Visitor, household_id: Id) -> Household:
    return await reachable_household(principal, household_id)


async def household_member(household: Annotated[Household, Depends(household_in_reach)],
                           member_id: Id) -> HouseholdMember:
    member = await repository.member(household.id, member_id)
    if member is None:
        raise MemberNotFound()
    return member


async def managed_assignment(principal: Manager, household_id: Id) -> Assignment:
    household = await repository.household(manager_scope(principal), household_id)
    current = (await repository.current_assignments([household.id])).get(household.id) if household else None
    if current is None:
        raise HouseholdNotFound("该住户没有联系人，或不在您的管辖范围内")
    return current


async def managed_household(principal: Manager, household_id: Id) -> Household:
    household = await repository.household(manager_scope(principal), household_id)
    if household is None:
        raise HouseholdNotFound()
    return household


async def reviewable_month(principal: Manager, month_id: Id) -> VisitMonth:
    row = await repository.month_by_id(manager_scope(principal), month_id)
    if row is None:
        raise MonthNotFound()
    return row


async def policy_community(principal: PolicyEditor, community_id: Id) -> OrgUnit:
    unit = await repository.unit(policy_scope(principal), community_id)
    if unit is None or OrgLevel(unit.level) is not OrgLevel.COMMUNITY:
        raise UnitNotFound("找不到该社区，或不在您的管辖范围内")
    return unit


async def report_unit(principal: ReportReader,
                      unit_id: Annotated[int, Query(gt=0, le=2**62, description="网格、社区或街道 id")]) -> OrgUnit:
    unit = await repository.unit(scope_of(principal, REPORT_READERS), unit_id)
    if unit is None:
        raise UnitNotFound()
    if OrgLevel(unit.level) not in (OrgLevel.GRID, OrgLevel.COMMUNITY, OrgLevel.STREET):
        raise WrongUnitLevel(detail={"level": unit.level})
    return unit


VisibleVisit = Annotated[Visit, Depends(visible_visit)]
ReviewableVisit = Annotated[Visit, Depends(reviewable_visit)]
WorkableProblem = Annotated[VisitProblem, Depends(workable_problem)]
ReachableHousehold = Annotated[Household, Depends(household_in_reach)]
Member = Annotated[HouseholdMember, Depends(household_member)]
ManagedAssignment = Annotated[Assignment, Depends(managed_assignment)]
ManagedHousehold = Annotated[Household, Depends(managed_household)]
ReviewableMonth = Annotated[VisitMonth, Depends(reviewable_month)]
PolicyCommunity = Annotated[OrgUnit, Depends(policy_community)]
ReportUnit = Annotated[OrgUnit, Depends(report_unit)]
