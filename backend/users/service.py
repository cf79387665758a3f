"""People: the caller's own profile, and staff managing people and role grants within their scope."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from backend.auth import principals
from backend.auth import repository as auth_repository
from backend.auth.principal import ROLE_RANK, Grant, Principal
from backend.core import audit, security
from backend.core.db import atomic
from backend.core.errors import NotFound
from backend.core.privacy import mask_phone
from backend.models.org import Department, OrgLevel
from backend.models.user import Role, RoleGrant, User, WechatAccount
from backend.org import repository as org_repository
from backend.org import service as org_service
from backend.org.schemas import ancestor_ids, my_household_out
from backend.org.scope import scope_of
from backend.org.service import HOUSEHOLD_EDITORS
from backend.users import repository
from backend.users.exceptions import CannotGrant, GrantExists, PhoneTaken, WrongGrantLevel
from backend.users.schemas import GrantIn, GrantOut, HouseholdRef, Me, UserCreate, UserOut, UserUpdate

# Where each role may be granted, and who may grant.
ROLE_LEVELS: dict[Role, frozenset[OrgLevel]] = {
    Role.RESIDENT: frozenset({OrgLevel.COMMUNITY}),
    Role.VOLUNTEER: frozenset({OrgLevel.COMMUNITY, OrgLevel.STREET}),
    Role.PARTY_MEMBER: frozenset({OrgLevel.COMMUNITY, OrgLevel.GRID}),
    Role.BUILDING_HEAD: frozenset({OrgLevel.COMPOUND, OrgLevel.BUILDING}),
    Role.GRID_WORKER: frozenset({OrgLevel.GRID}),
    Role.GRID_LEADER: frozenset({OrgLevel.GRID}),
    Role.COMMUNITY_STAFF: frozenset({OrgLevel.COMMUNITY}),
    Role.STREET_STAFF: frozenset({OrgLevel.STREET}),
}
GRANTERS = (Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
USER_READERS = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


def _grant_out(grant: RoleGrant | Grant, names: dict[int, str]) -> GrantOut:
    unit = grant.org_unit if grant.org_unit_id else None
    path = None
    if unit is not None:
        chain = [names.get(getattr(unit, lv.column)) for lv in OrgLevel if getattr(unit, lv.column) != unit.id]
        path = " / ".join([n for n in chain if n] + [unit.name])
    return GrantOut(
        id=grant.id,
        role=Role(grant.role),
        role_label=Role(grant.role).label,
        org_unit_id=grant.org_unit_id,
        org_unit_name=unit.name if unit else None,
        org_unit_path=path,
        department_id=grant.department_id,
        department_name=grant.department.name if grant.department_id else None,
    )


async def grant_out(grant: RoleGrant) -> GrantOut:
    await grant.fetch_related("org_unit", "department")
    names = await org_repository.names(ancestor_ids([grant.org_unit]) if grant.org_unit_id else [])
    return _grant_out(grant, names)


def _household_ref(user: User) -> HouseholdRef | None:
    household = user.household if user.household_id else None
    if household is None:
        return None
    return HouseholdRef(id=household.id, label=f"{household.building.name} {household.door_no}")


async def _names_for(users: list[User]) -> dict[int, str]:
    return await org_repository.names(ancestor_ids([g.org_unit for u in users for g in u.grants if g.org_unit_id]))


async def me(user: User, grants: list[Grant] | None = None) -> Me:
    """The caller's profile; ``grants`` (already loaded with the principal) saves reloading them."""
    if grants is None:
        grants = await auth_repository.grants_of_user(user.id)
    household = await org_repository.own_household(user.household_id)
    places = org_service.household_place_ids(household) if household else []
    # One names query for the grants' places and the household's.
    names = await org_repository.names([*ancestor_ids([g.org_unit for g in grants if g.org_unit]), *places])
    return Me(
        id=user.id,
        name=user.name,
        phone_masked=mask_phone(user.phone),
        roles=[_grant_out(g, names) for g in grants],
        household=my_household_out(household, names) if household else None,
        has_wechat=await WechatAccount.exists(user_id=user.id),
        has_password=user.password_hash is not None,
    )


def user_out(user: User, names: dict[int, str]) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        phone_masked=mask_phone(user.phone),
        is_active=user.is_active,
        household=_household_ref(user),
        roles=[_grant_out(g, names) for g in user.grants],
        created_at=user.created_at,
    )


async def users_out(users: list[User]) -> list[UserOut]:
    names = await _names_for(users)
    return [user_out(u, names) for u in users]


async def _check_grant(principal: Principal, grant: GrantIn) -> None:
    """May ``principal`` grant this role at this unit or department? Raise if not."""
    role = Role(grant.role)
    if role is Role.ADMIN:
        if not principal.is_admin:
            raise CannotGrant()
        return
    granters = [r for r in GRANTERS if ROLE_RANK[r] >= ROLE_RANK[role]]
    if role is Role.DEPARTMENT_STAFF:
        department = await Department.get_or_none(id=grant.department_id)
        scope = scope_of(principal, [r for r in granters if ROLE_RANK[r] >= ROLE_RANK[Role.STREET_STAFF]])
        if department is None or not scope.touches_street(department.street_id):
            raise CannotGrant()
        return
    unit = await org_repository.unit(scope_of(principal, granters), grant.org_unit_id or 0)
    if unit is None:
        raise CannotGrant()
    if OrgLevel(unit.level) not in ROLE_LEVELS[role]:
        allowed = "、".join(lv.label for lv in ROLE_LEVELS[role])
        raise WrongGrantLevel(f"{role.label}应设在：{allowed}")


async def _household_in_scope(principal: Principal, household_id: int) -> None:
    if await org_repository.household(scope_of(principal, HOUSEHOLD_EDITORS), household_id) is None:
        raise NotFound("找不到该住户")


async def create_user(principal: Principal, body: UserCreate) -> User:
    for grant in body.grants:
        await _check_grant(principal, grant)
    if body.household_id is not None:
        await _household_in_scope(principal, body.household_id)
    if body.phone and await repository.phone_taken(body.phone):
        raise PhoneTaken()
    try:
        return await _create_user(principal, body)
    except IntegrityError as exc:  # a concurrent registration of the same phone
        raise PhoneTaken() from exc


async def _create_user(principal: Principal, body: UserCreate) -> User:
    async with atomic():
        user = await User.create(
            name=body.name,
            phone=body.phone,
            household_id=body.household_id,
            password_hash=security.hash_password(body.password) if body.password else None,
        )
        for grant in {(g.role, g.org_unit_id, g.department_id) for g in body.grants}:
            await RoleGrant.create(
                user=user, role=grant[0], org_unit_id=grant[1], department_id=grant[2], granted_by_id=principal.id
            )
        await audit.record(
            "user:create", actor_id=principal.id, object_type="user", object_id=user.id,
            detail={"grants": [g.model_dump(mode="json") for g in body.grants]},
        )
    return await repository.with_relations(user)


async def update_user(principal: Principal, user: User, body: UserUpdate) -> User:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("household_id") is not None:
        await _household_in_scope(principal, changes["household_id"])
    if "password" in changes:
        password = changes.pop("password")
        changes["password_hash"] = security.hash_password(password) if password else None
    if not changes:
        return user
    async with atomic():
        await User.filter(id=user.id).update(**changes)
        principals.forget_user(user.id)
        await audit.record(
            "user:update", actor_id=principal.id, object_type="user", object_id=user.id,
            detail={"fields": sorted(changes)},
        )
    await user.refresh_from_db()
    return await repository.with_relations(user)


async def add_grant(principal: Principal, user: User, body: GrantIn) -> RoleGrant:
    await _check_grant(principal, body)
    if await repository.grant_exists(user.id, Role(body.role), body.org_unit_id, body.department_id):
        raise GrantExists()
    try:
        async with atomic():
            grant = await RoleGrant.create(
                user=user, role=body.role, org_unit_id=body.org_unit_id, department_id=body.department_id,
                granted_by_id=principal.id,
            )
            principals.forget_user(user.id)
            await audit.record(
                "grant:add", actor_id=principal.id, object_type="user", object_id=user.id,
                detail=body.model_dump(mode="json"),
            )
    except IntegrityError as exc:  # the same grant added at the same moment (core/0002's unique index)
        raise GrantExists() from exc
    return grant


async def remove_grant(principal: Principal, user: User, grant_id: int) -> None:
    grant = await RoleGrant.get_or_none(id=grant_id, user_id=user.id).select_related("org_unit", "department")
    if grant is None:
        raise NotFound("找不到该角色")
    await _check_grant(
        principal, GrantIn(role=grant.role, org_unit_id=grant.org_unit_id, department_id=grant.department_id)
    )
    async with atomic():
        await grant.delete()
        principals.forget_user(user.id)
        await audit.record(
            "grant:remove", actor_id=principal.id, object_type="user", object_id=user.id,
            detail={"role": grant.role, "org_unit_id": grant.org_unit_id, "department_id": grant.department_id},
        )
