"""Who is calling: the user, their session and their role grants, loaded once per request."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.models.user import Role, User

STAFF_ROLES = frozenset(
    {Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN}
)

# What a grant lets its holder grant to others (see backend.users.service.grant_role).
ROLE_RANK = {
    Role.RESIDENT: 1,
    Role.VOLUNTEER: 1,
    Role.PARTY_MEMBER: 1,
    Role.BUILDING_HEAD: 1,
    Role.GRID_WORKER: 2,
    Role.GRID_LEADER: 3,
    Role.COMMUNITY_STAFF: 4,
    Role.DEPARTMENT_STAFF: 4,
    Role.STREET_STAFF: 5,
    Role.ADMIN: 6,
}


@dataclass(frozen=True)
class UnitRef:
    """The granted unit, as much of it as authorisation needs."""

    id: int
    level: str
    name: str
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    compound_id: int | None
    building_id: int | None


@dataclass(frozen=True)
class DepartmentRef:
    id: int
    name: str
    street_id: int | None


@dataclass(frozen=True)
class Grant:
    """One role grant of the caller (a read-only snapshot taken when the request was authenticated)."""

    id: int
    role: Role
    org_unit_id: int | None
    department_id: int | None
    org_unit: UnitRef | None
    department: DepartmentRef | None


@dataclass
class Principal:
    user: User
    session_id: uuid.UUID | None
    grants: list[Grant] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def roles(self) -> set[Role]:
        return {Role(g.role) for g in self.grants}

    def has(self, *roles: Role) -> bool:
        return any(Role(g.role) in roles for g in self.grants)

    def grants_for(self, roles: Iterable[Role]) -> list[Grant]:
        wanted = set(roles)
        return [g for g in self.grants if Role(g.role) in wanted]

    @property
    def is_admin(self) -> bool:
        return self.has(Role.ADMIN)
