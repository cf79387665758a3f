"""Builders that read like the domain: ``await make_org_tree(communities=2, grids=3)``,
``await make_user(Role.GRID_WORKER, tree.grid(0, 1))``, ``await auth_headers(settings, user)``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from backend.auth import service as auth_service
from backend.config import Settings
from backend.core import security
from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import ancestor_columns

_phones = itertools.count(1)


def next_phone() -> str:
    """A fresh valid mobile number (137 + 8 digits: room for 100 million per test session)."""
    return f"137{next(_phones):08d}"


async def make_unit(level: OrgLevel, name: str, parent: OrgUnit | None = None, **extra) -> OrgUnit:  # type: ignore[no-untyped-def]
    unit = await OrgUnit.create(level=level, name=name, parent=parent, **ancestor_columns(parent, level, None), **extra)
    setattr(unit, level.column, unit.id)
    await unit.save(update_fields=[level.column])
    return unit


async def make_household(building: OrgUnit, door_no: str, **extra) -> Household:  # type: ignore[no-untyped-def]
    columns = ancestor_columns(building, OrgLevel.BUILDING, building.id)
    columns.pop("building_id")
    return await Household.create(building=building, door_no=door_no, **columns, **extra)


@dataclass
class Community:
    unit: OrgUnit
    grids: list[OrgUnit] = field(default_factory=list)
    buildings: dict[int, list[OrgUnit]] = field(default_factory=dict)  # grid id -> buildings
    households: dict[int, list[Household]] = field(default_factory=dict)  # grid id -> households


@dataclass
class Tree:
    street: OrgUnit
    communities: list[Community]

    def community(self, c: int = 0) -> OrgUnit:
        return self.communities[c].unit

    def grid(self, c: int = 0, g: int = 0) -> OrgUnit:
        return self.communities[c].grids[g]

    def building(self, c: int = 0, g: int = 0, b: int = 0) -> OrgUnit:
        return self.communities[c].buildings[self.grid(c, g).id][b]

    def household(self, c: int = 0, g: int = 0, h: int = 0) -> Household:
        return self.communities[c].households[self.grid(c, g).id][h]


async def make_org_tree(communities: int = 2, grids: int = 2, buildings: int = 1, households: int = 2) -> Tree:
    street = await make_unit(OrgLevel.STREET, "测试街道", party_org_name="测试街道党工委")
    tree = Tree(street=street, communities=[])
    for c in range(communities):
        community = Community(unit=await make_unit(OrgLevel.COMMUNITY, f"社区{c + 1}", street))
        for g in range(grids):
            grid = await make_unit(OrgLevel.GRID, f"社区{c + 1}第{g + 1}网格", community.unit)
            compound = await make_unit(OrgLevel.COMPOUND, f"社区{c + 1}网格{g + 1}小区", grid)
            community.grids.append(grid)
            community.buildings[grid.id] = []
            community.households[grid.id] = []
            for b in range(buildings):
                building = await make_unit(OrgLevel.BUILDING, f"{b + 1}号楼", compound)
                community.buildings[grid.id].append(building)
                for h in range(households):
                    community.households[grid.id].append(
                        await make_household(building, f"1单元{h + 1}01", address=f"测试路{c}{g}{b}{h}号",
                                             contact_phone=next_phone(), is_elderly=(h == 0))
                    )
        tree.communities.append(community)
    return tree


async def make_department(street: OrgUnit, name: str = "城管执法队") -> Department:
    return await Department.create(name=name, category="城管", street=street)


async def make_user(
    role: Role | None = None,
    unit: OrgUnit | None = None,
    *,
    department: Department | None = None,
    name: str = "测试用户",
    phone: str | None = None,
    password: str | None = None,
    household: Household | None = None,
    is_demo: bool = False,
) -> User:
    user = await User.create(
        name=name, phone=phone or next_phone(), household=household, is_demo=is_demo,
        password_hash=security.hash_password(password) if password else None,
    )
    if role is not None:
        await RoleGrant.create(user=user, role=role, org_unit=unit, department=department)
    return user


async def tokens_for(settings: Settings, user: User):  # type: ignore[no-untyped-def]
    return await auth_service.start_session(settings, user, method="test", user_agent="pytest")


async def auth_headers(settings: Settings, user: User) -> dict[str, str]:
    pair = await tokens_for(settings, user)
    return {"Authorization": f"Bearer {pair.access_token}"}
