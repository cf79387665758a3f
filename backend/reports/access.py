"""Who may do what to a report: read it (reporter, staff whose scope covers it, summoned departments) and act
on it (the handlers of its current level). Everything goes through the org scoping helper."""

from __future__ import annotations

from types import SimpleNamespace

from backend.auth.principal import STAFF_ROLES, Principal
from backend.models.reports import Level, Report
from backend.models.user import Role
from backend.org.scope import Scope, scope_of

READ_ROLES = tuple(sorted(STAFF_ROLES))
COMMUNITY_ROLES = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
STREET_ROLES = (Role.STREET_STAFF, Role.ADMIN)
HANDLER_ROLES: dict[Level, tuple[Role, ...]] = {
    Level.GRID: (Role.GRID_WORKER, Role.GRID_LEADER, *COMMUNITY_ROLES),
    Level.COMMUNITY: COMMUNITY_ROLES,
    Level.STREET: STREET_ROLES,
}


def handling_unit(report: object, level: Level | None = None) -> SimpleNamespace:
    """The ancestor columns of the unit that handles the report at ``level`` (its current level by default):
    a grant on a grid covers a grid-level report there, not the same report once it went up to the community."""
    level = Level(level or report.level)
    return SimpleNamespace(
        street_id=getattr(report, "street_id", None),
        community_id=getattr(report, "community_id", None) if level is not Level.STREET else None,
        grid_id=getattr(report, "grid_id", None) if level is Level.GRID else None,
        compound_id=None,
        building_id=None,
    )


def staff_scope(principal: Principal) -> Scope:
    return scope_of(principal, READ_ROLES)


def handler_scopes(principal: Principal) -> dict[Level, Scope]:
    return {level: scope_of(principal, roles) for level, roles in HANDLER_ROLES.items()}


def can_handle(principal: Principal, report: Report) -> bool:
    level = Level(report.level)
    return scope_of(principal, HANDLER_ROLES[level]).covers(handling_unit(report, level))


def can_read_as_staff(principal: Principal, report: Report) -> bool:
    return staff_scope(principal).covers(report)


def in_community_scope(principal: Principal, report: Report) -> bool:
    """Community staff (社区两委) of the report's community, or street staff above it."""
    return scope_of(principal, COMMUNITY_ROLES).covers(handling_unit(report, Level.COMMUNITY))


def in_street_scope(principal: Principal, report: Report) -> bool:
    return scope_of(principal, STREET_ROLES).covers(handling_unit(report, Level.STREET))


def is_reporter(principal: Principal, report: Report) -> bool:
    return principal.id == report.reporter_id


def is_filer(principal: Principal, report: Report) -> bool:
    """Who filed it for the reporter (staff on the phone, a party member from a home visit): they may follow it
    in the reporter's view (no one's personal data), not act as the reporter."""
    return report.filed_by_id is not None and principal.id == report.filed_by_id
