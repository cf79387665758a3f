"""Who may see and act on what in the visits domain. Everything goes through the org scoping helper, plus one
thing that is not a place: a household assigned to a party member is theirs to visit and keep the ledger of.

- field staff (grid worker and up) visit, read and keep the ledger of any household in their scope;
- a visitor (party member, grid worker, grid leader) does so for the households assigned to them;
- managers (grid leader and up) assign households, review flagged visits and approve 台账 in their scope.
"""

from __future__ import annotations

from backend.auth.principal import Principal
from backend.models.org import Household, OrgLevel
from backend.models.user import RoleGrant
from backend.models.visits import Visit
from backend.org.scope import Scope, scope_of
from backend.visits import repository
from backend.visits.enums import FIELD_STAFF, MANAGERS, POLICY_EDITORS
from backend.visits.exceptions import HouseholdNotFound


def field_scope(principal: Principal) -> Scope:
    return scope_of(principal, FIELD_STAFF)


def manager_scope(principal: Principal) -> Scope:
    return scope_of(principal, MANAGERS)


def policy_scope(principal: Principal) -> Scope:
    return scope_of(principal, POLICY_EDITORS)


async def reachable_household(principal: Principal, household_id: int) -> Household:
    """A household the caller may visit: in their field scope, or assigned to them. 404 otherwise."""
    household = await repository.household(field_scope(principal), household_id)
    if household is None:
        household = await repository.assigned_household(principal.id, household_id)
    if household is None:
        raise HouseholdNotFound(detail={"household_id": household_id})
    return household


def can_see_visit(principal: Principal, visit: Visit) -> bool:
    return visit.visitor_id == principal.id or field_scope(principal).covers(visit)


def visitor_reach(grants: list[RoleGrant]) -> Scope:
    """The communities (or whole streets) a visitor's grants place them in: a party member of a grid may be
    given households anywhere in that grid's community."""
    units: dict[OrgLevel, set[int]] = {}
    for g in grants:
        unit = g.org_unit
        if OrgLevel(unit.level) is OrgLevel.STREET:
            units.setdefault(OrgLevel.STREET, set()).add(unit.id)
        elif unit.community_id is not None:
            units.setdefault(OrgLevel.COMMUNITY, set()).add(unit.community_id)
    return Scope(units={level: frozenset(ids) for level, ids in units.items()})
