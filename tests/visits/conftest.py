"""Visits fixtures: a street of two communities (two grids each, one building of four households per grid, every
building on the map in Lanzhou), people in every role that visits or manages visits, and helpers that read like
the domain: ``await w.assign("party", w.h(0, 0, 1), at=...)``, ``await w.visit("party", household, at=...)``.

Household 0 of every grid is elderly and living alone (weekly), household 1 is 困难 (twice a month), the others
follow the default monthly rule.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from backend.auth.principal import Principal
from backend.auth.repository import grants_of_user
from backend.core.timeutil import SHANGHAI, utcnow
from backend.models.org import Household, OrgUnit
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role, User
from backend.models.visits import Assignment, AssignmentSpan, Visit, VisitSource
from backend.outbox import registry
from backend.outbox.worker import Worker
from backend.visits import service, sync
from backend.visits.schemas import AssignIn, VisitIn
from tests.builders import Tree, auth_headers, make_org_tree, make_user
from tests.conftest import REDIS_URL, TEST_SECRET

CENTER = (36.0712, 103.7405)
V = "/api/v1/visits"


def local(*args: int) -> datetime:
    """A Beijing-time moment: ``local(2026, 11, 3, 10)``."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@dataclass
class World:
    tree: Tree
    people: dict[str, User]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    settings: Any = None

    def __getitem__(self, name: str) -> User:
        return self.people[name]

    def h(self, c: int = 0, g: int = 0, i: int = 0) -> Household:
        return self.tree.household(c, g, i)

    def building(self, c: int = 0, g: int = 0) -> OrgUnit:
        return self.tree.building(c, g, 0)

    async def principal(self, name: str) -> Principal:
        user = self.people[name]
        return Principal(user=user, session_id=None, grants=await grants_of_user(user.id))

    async def assign(self, who: str, *households: Household, by: str = "leader", at: datetime | None = None) -> None:
        """Assign through the service; ``at`` back-dates the assignment (and its span) for history fixtures."""
        await service.assign(await self.principal(by), AssignIn(
            visitor_id=self.people[who].id, household_ids=[h.id for h in households]))
        if at is not None:
            ids = [h.id for h in households]
            await Assignment.filter(household_id__in=ids).update(assigned_at=at)
            await AssignmentSpan.filter(household_id__in=ids, ended_at=None).update(started_at=at)

    async def visit(self, who: str, household: Household, *, at: datetime, at_home: bool = True,
                    tags: tuple[str, ...] = (), near: bool = True, received: datetime | None = None,
                    sent_at: datetime | None = None) -> Visit:
        """A check-in at ``at`` (received then, unless told), at the household's building unless ``near=False``."""
        building = await OrgUnit.get(id=household.building_id)
        lat, lng = (building.lat, building.lng) if near else (building.lat + 0.01, building.lng)
        item = VisitIn(client_id=uuid.uuid4(), household_id=household.id, visited_at=at, lat=lat, lng=lng,
                       accuracy_m=10, at_home=at_home, tags=list(tags))
        got = received or at
        outcome = await sync.check_in(await self.principal(who), item,
                                      sync.Received(at=got, sent_at=sent_at or got, source=VisitSource.ONLINE),
                                      self.settings)
        assert outcome.outcome == "created", outcome
        return outcome.visit  # type: ignore[return-value]


async def place(tree: Tree) -> None:
    """Every building on the map: grid g of community c about 500 m apart."""
    for c, community in enumerate(tree.communities):
        for g, grid in enumerate(community.grids):
            for b in community.buildings[grid.id]:
                lat, lng = CENTER[0] + 0.0045 * g, CENTER[1] + 0.02 * c
                await OrgUnit.filter(id=b.id).update(lat=lat, lng=lng)
                b.lat, b.lng = lat, lng
            for i, h in enumerate(community.households[grid.id]):
                await Household.filter(id=h.id).update(is_elderly=i == 0, is_living_alone=i == 0, is_hardship=i == 1)
                h.is_elderly, h.is_living_alone, h.is_hardship = i == 0, i == 0, i == 1


@pytest.fixture
async def world(settings) -> World:  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2, buildings=1, households=4)
    await place(tree)
    c1, c2 = tree.community(0), tree.community(1)
    people = {
        "party": await make_user(Role.PARTY_MEMBER, tree.grid(0, 0), name="党员老张"),
        "party_2": await make_user(Role.PARTY_MEMBER, tree.grid(0, 1), name="党员小李"),
        "party_other": await make_user(Role.PARTY_MEMBER, tree.grid(1, 0), name="外社区党员"),
        "grid_worker": await make_user(Role.GRID_WORKER, tree.grid(0, 0), name="网格员小王"),
        "grid_worker_other": await make_user(Role.GRID_WORKER, tree.grid(0, 1), name="另一网格员"),
        "leader": await make_user(Role.GRID_LEADER, tree.grid(0, 0), name="网格长老刘"),
        "leader_other": await make_user(Role.GRID_LEADER, tree.grid(1, 0), name="外社区网格长"),
        "staff": await make_user(Role.COMMUNITY_STAFF, c1, name="社区干部"),
        "staff_other": await make_user(Role.COMMUNITY_STAFF, c2, name="外社区干部"),
        "street": await make_user(Role.STREET_STAFF, tree.street, name="街道干部"),
        "admin": await make_user(Role.ADMIN, name="管理员"),
        "resident": await make_user(Role.RESIDENT, c1, name="王奶奶", household=tree.household(0, 0, 0)),
        "volunteer": await make_user(Role.VOLUNTEER, c1, name="志愿者"),
        "nobody": await make_user(name="无角色"),
    }
    w = World(tree=tree, people=people, settings=settings)
    w.headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return w


async def run_outbox(settings, bus, rounds: int = 20) -> None:  # type: ignore[no-untyped-def]
    registry.load_all()
    worker = Worker(settings, bus)
    for _ in range(rounds):
        if not await worker.run_due():
            break


async def pending(kind: str) -> list[OutboxEvent]:
    return await OutboxEvent.filter(kind=kind, status=OutboxStatus.PENDING)


def live_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a uvicorn server process on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINLIN_")}
    env.update({"JINLIN_ENV": "test", "JINLIN_SECRET_KEY": TEST_SECRET, "JINLIN_DATABASE_URL": database_url,
                "JINLIN_LOG_LEVEL": "WARNING", "JINLIN_LOG_JSON": "false", "JINLIN_H5_DIR": "",
                "JINLIN_WORKER_IN_PROCESS": "false", "JINLIN_DB_POOL_SIZE": "10"})
    if REDIS_URL:
        env["JINLIN_REDIS_URL"] = REDIS_URL
    env.update(extra)
    return env


def body(household: Household, **extra: Any) -> dict[str, Any]:
    """A check-in body at the household's building, now."""
    data = {"client_id": str(uuid.uuid4()), "household_id": household.id, "visited_at": utcnow().isoformat(),
            "lat": CENTER[0], "lng": CENTER[1], "accuracy_m": 15, "at_home": True}
    data.update(extra)
    return data
