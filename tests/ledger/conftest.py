"""Ledger fixtures: a street with two communities, people in every role that matters to the ledger, and helpers
that read like the domain (``await credit(volunteer, minutes=120)``, ``await balance_of(user, Currency.POINT)``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from tortoise import connections

from backend.ledger import service as ledger
from backend.ledger.types import Posted
from backend.models.ledger import Account, Currency, Entry, OwnerKind, Transfer
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role, User
from tests.builders import Community, Tree, auth_headers, make_household, make_unit, make_user

_phones = itertools.count(1)


def ledger_phone() -> str:
    """Phones for ledger test people, apart from ``tests.builders.next_phone``'s 4-digit sequence (which the
    rest of the suite shares and would overflow into invalid 12-digit numbers if the ledger tests drew on it)."""
    return f"135{next(_phones):08d}"


def person(role: Role | None, unit: OrgUnit | None, **kwargs):  # type: ignore[no-untyped-def]
    return make_user(role, unit, phone=ledger_phone(), **kwargs)


async def ledger_tree(communities: int = 2, grids: int = 2, households: int = 3) -> Tree:
    """``tests.builders.make_org_tree``'s shape (one compound and building per grid; the first household of
    each grid is elderly), with phones from ``ledger_phone``."""
    street = await make_unit(OrgLevel.STREET, "测试街道")
    tree = Tree(street=street, communities=[])
    for c in range(communities):
        community = Community(unit=await make_unit(OrgLevel.COMMUNITY, f"社区{c + 1}", street))
        for g in range(grids):
            grid = await make_unit(OrgLevel.GRID, f"社区{c + 1}第{g + 1}网格", community.unit)
            compound = await make_unit(OrgLevel.COMPOUND, f"社区{c + 1}网格{g + 1}小区", grid)
            building = await make_unit(OrgLevel.BUILDING, "1号楼", compound)
            community.grids.append(grid)
            community.buildings[grid.id] = [building]
            community.households[grid.id] = [
                await make_household(building, f"1单元{h + 1}01", contact_phone=ledger_phone(), is_elderly=(h == 0))
                for h in range(households)
            ]
        tree.communities.append(community)
    return tree


@dataclass
class World:
    tree: Tree
    people: dict[str, User]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def community(self) -> OrgUnit:
        return self.tree.community(0)

    @property
    def other_community(self) -> OrgUnit:
        return self.tree.community(1)

    def __getitem__(self, name: str) -> User:
        return self.people[name]


@pytest.fixture
async def world(settings) -> World:  # type: ignore[no-untyped-def]
    tree = await ledger_tree()
    c1, c2 = tree.community(0), tree.community(1)
    people = {
        "volunteer": await person(Role.VOLUNTEER, c1, name="志愿者甲", household=tree.household(0, 0, 1)),
        "volunteer_b": await person(Role.VOLUNTEER, c1, name="志愿者乙", household=tree.household(0, 1, 0)),
        "resident": await person(Role.RESIDENT, c1, name="居民甲", household=tree.household(0, 0, 0)),
        "parent": await person(Role.RESIDENT, c1, name="居民父亲", household=tree.household(0, 0, 2)),
        "outsider": await person(Role.RESIDENT, c2, name="外社区居民", household=tree.household(1, 0, 0)),
        "grid_worker": await person(Role.GRID_WORKER, tree.grid(0, 0), name="网格员"),
        "grid_worker_other": await person(Role.GRID_WORKER, tree.grid(0, 1), name="另一网格员"),
        "staff": await person(Role.COMMUNITY_STAFF, c1, name="社区干部甲"),
        "staff_2": await person(Role.COMMUNITY_STAFF, c1, name="社区干部乙"),
        "staff_other": await person(Role.COMMUNITY_STAFF, c2, name="外社区干部"),
        "street": await person(Role.STREET_STAFF, tree.street, name="街道干部"),
        "admin": await person(Role.ADMIN, None, name="管理员"),
        "nobody": await person(None, None, name="无角色"),
    }
    w = World(tree=tree, people=people)
    w.headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return w


async def credit(user: User, *, community: OrgUnit, minutes: int, key: str | None = None) -> Posted:
    """Hours (and, by the default rules, points) for an activity."""
    return await ledger.earn_activity(user.id, community=community, minutes=minutes, idempotency_key=key)


async def award_points(user: User, *, community: OrgUnit, points: int, actor: User) -> Posted:
    outcome = await ledger.award(user.id, community=community, currency=Currency.POINT, amount=points,
                                 reason="测试奖励", actor_id=actor.id)
    assert outcome.posted is not None
    return outcome.posted


async def balance_of(user: User, currency: Currency) -> int:
    account = await Account.get_or_none(owner_kind=OwnerKind.USER, owner_id=user.id, currency=currency)
    return account.balance if account else 0


async def raw(sql: str, values: list | None = None) -> list[dict]:
    """Run SQL straight at the database (as a buggy or malicious writer would), in its own dialect."""
    import re

    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        sql = re.sub(r"\$(\d+)", r"?\1", sql)
    return await conn.execute_query_dict(sql, values or [])


async def ledger_counts() -> tuple[int, int]:
    return await Transfer.all().count(), await Entry.all().count()
