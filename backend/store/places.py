"""Where people are, for the delivery domains: a resident's community (for "my store"), their home on the map
(building → compound → grid → community coordinates, the nearest level that has them), and the member scope
(what a resident or volunteer belongs to: their grants' units and their household's community)."""

from __future__ import annotations

from backend.auth.principal import Principal
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.user import Role, User
from backend.org.scope import Scope, scope_of

ALL_ROLES = tuple(Role)


async def household_of(user: User | int | None) -> Household | None:
    if user is None:
        return None
    household_id = (
        user.household_id
        if isinstance(user, User)
        else (await User.filter(id=user).first().values_list("household_id", flat=True))
    )
    return await Household.get_or_none(id=household_id) if household_id else None


def household_scope(household: Household | None) -> Scope:
    if household is None or household.community_id is None:
        return Scope()
    return Scope(
        units={OrgLevel.COMMUNITY: frozenset({household.community_id})},
        streets=frozenset({household.street_id}) if household.street_id else frozenset(),
    )


async def member_scope(principal: Principal) -> Scope:
    """The units the caller belongs to in any role, the communities those lie in (a grid worker uses the
    community's store), and their household's community."""
    return member_scope_with(principal, await household_of(principal.user))


def member_scope_with(principal: Principal, household: Household | None) -> Scope:
    """``member_scope`` with the caller's household already loaded."""
    communities = {
        g.org_unit.community_id for g in principal.grants if g.org_unit and g.org_unit.community_id
    }
    own = Scope(units={OrgLevel.COMMUNITY: frozenset(communities)}) if communities else Scope()
    return scope_of(principal, ALL_ROLES).union(own).union(household_scope(household))


async def home_point(household: Household | None) -> tuple[float, float] | None:
    """The household's position: its building's, else the compound's, grid's or community's."""
    if household is None:
        return None
    ids = [
        i
        for i in (household.building_id, household.compound_id, household.grid_id, household.community_id)
        if i
    ]
    units = {u.id: u for u in await OrgUnit.filter(id__in=ids).only("id", "lat", "lng")}
    for unit_id in ids:
        unit = units.get(unit_id)
        if unit is not None and unit.lat is not None and unit.lng is not None:
            return unit.lat, unit.lng
    return None


def place_of(row: Household | OrgUnit | None) -> dict[str, int | None]:
    """Ancestor-id columns for a row placed at a household or unit."""
    return {c: getattr(row, c, None) for c in ("street_id", "community_id", "grid_id", "compound_id")}
