"""Reports fixtures: a street with two communities of two grids (grid polygons drawn), people in every role
that touches a report, two departments, and helpers that read like the domain
(``await w.report(by="resident")``, ``await w.act("grid_worker", rid, "accept")``, ``await fire_clocks()``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from backend.core.timeutil import utcnow
from backend.models.org import Department, OrgUnit
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.reports import Report
from backend.models.user import Role, User
from backend.outbox.worker import Worker
from backend.reports import repository, routing
from tests.builders import Tree, auth_headers, make_department, make_org_tree, make_user

# Grid g of community c is the square [103.70 + 0.01·(2c+g), +0.01] × [36.00, 36.01] (lng × lat, GCJ-02).
BASE_LNG, BASE_LAT, SIDE = 103.70, 36.00, 0.01


def grid_square(index: int) -> list[list[float]]:
    x0 = BASE_LNG + SIDE * index
    return [[x0, BASE_LAT], [x0 + SIDE, BASE_LAT], [x0 + SIDE, BASE_LAT + SIDE], [x0, BASE_LAT + SIDE]]


def point_in(index: int) -> dict[str, float]:
    """A point inside grid number ``index`` (0 = community 0 grid 0, 1 = c0 g1, 2 = c1 g0 …)."""
    return {"lat": BASE_LAT + SIDE / 2, "lng": BASE_LNG + SIDE * index + SIDE / 2}


@dataclass
class World:
    tree: Tree
    people: dict[str, User]
    departments: list[Department]
    client: httpx.AsyncClient
    settings: Any = None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def login(self, name: str, user: User) -> None:
        """Add a person (and their bearer headers) under ``name``."""
        self.people[name] = user
        self.headers[name] = await auth_headers(self.settings, user)

    def __getitem__(self, name: str) -> User:
        return self.people[name]

    def grid(self, c: int = 0, g: int = 0) -> OrgUnit:
        return self.tree.grid(c, g)

    async def report(self, by: str = "resident", *, expect: int = 201, **body: Any) -> dict:
        """File a report as ``by`` (a sanitation matter in grid c0g0 unless told otherwise)."""
        payload = {
            "category": "sanitation.garbage",
            "description": "垃圾三天没人清运了",
            **point_in(0),
            **body,
        }
        resp = await self.client.post("/api/v1/reports", json=payload, headers=self.headers[by])
        assert resp.status_code == expect, resp.text
        return resp.json()

    async def act(
        self, who: str, report_id: int, action: str, *, expect: int | None = 200, **body: Any
    ) -> httpx.Response:
        resp = await self.client.post(
            f"/api/v1/reports/{report_id}/{action}", json=body, headers=self.headers[who]
        )
        if expect is not None:
            assert resp.status_code == expect, (who, action, resp.text)
        return resp

    async def get(self, who: str, path: str, *, expect: int | None = 200, **params: Any) -> httpx.Response:
        resp = await self.client.get(path, params=params, headers=self.headers[who])
        if expect is not None:
            assert resp.status_code == expect, (who, path, resp.text)
        return resp


@pytest.fixture
async def world(settings, client) -> World:  # type: ignore[no-untyped-def]
    routing.forget_geometry()
    repository.forget_names()  # ids restart in every test: yesterday's unit 3 is not today's
    tree = await make_org_tree(communities=2, grids=2, households=2)
    index = 0
    for c in range(2):
        for g in range(2):
            grid = tree.grid(c, g)
            grid.boundary = grid_square(index)
            await grid.save(update_fields=["boundary"])
            index += 1
    c1, c2 = tree.community(0), tree.community(1)
    departments = [
        await make_department(tree.street, "城管执法队"),
        await make_department(tree.street, "供热公司"),
    ]
    # Own phone numbers (unique within the test, as tables are emptied between tests) rather than the shared
    # builder counter, which this many users per test would run past its four digits.
    phones = (f"1385{i:07d}" for i in itertools.count())

    async def person(role: Role | None = None, unit: OrgUnit | None = None, **kw: Any) -> User:
        return await make_user(role, unit, phone=next(phones), **kw)

    people = {
        "resident": await person(Role.RESIDENT, c1, name="居民甲", household=tree.household(0, 0, 0)),
        "neighbour": await person(Role.RESIDENT, c1, name="邻居乙", household=tree.household(0, 0, 1)),
        "resident_b": await person(Role.RESIDENT, c1, name="居民丙", household=tree.household(0, 1, 0)),
        "outsider": await person(Role.RESIDENT, c2, name="外社区居民", household=tree.household(1, 0, 0)),
        "grid_worker": await person(Role.GRID_WORKER, tree.grid(0, 0), name="网格员甲"),
        "grid_leader": await person(Role.GRID_LEADER, tree.grid(0, 0), name="网格长甲"),
        "grid_worker_b": await person(Role.GRID_WORKER, tree.grid(0, 1), name="网格员乙"),
        "grid_worker_c2": await person(Role.GRID_WORKER, tree.grid(1, 0), name="外社区网格员"),
        "community_staff": await person(Role.COMMUNITY_STAFF, c1, name="社区干部甲"),
        "community_staff_2": await person(Role.COMMUNITY_STAFF, c2, name="外社区干部"),
        "street_staff": await person(Role.STREET_STAFF, tree.street, name="街道干部"),
        "admin": await person(Role.ADMIN, name="管理员"),
        "department": await person(Role.DEPARTMENT_STAFF, department=departments[0], name="城管队员"),
        "department_b": await person(Role.DEPARTMENT_STAFF, department=departments[1], name="供热职工"),
        "building_head": await person(Role.BUILDING_HEAD, tree.building(0, 0), name="楼长"),
        "nobody": await person(name="无角色"),
    }
    w = World(tree=tree, people=people, departments=departments, client=client, settings=settings)
    w.headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return w


async def fire_clocks(
    settings, bus, *, kinds: tuple[str, ...] = ("reports.clock", "reports.whistle_clock")
) -> int:  # type: ignore[no-untyped-def]
    """Move every pending report / whistle timer to now and run the outbox worker until nothing is due (other
    due events, such as notification pushes, run too). Returns how many timers were moved."""
    pending = OutboxEvent.filter(status=OutboxStatus.PENDING, kind__in=list(kinds))
    moved = await pending.count()
    await pending.update(run_at=utcnow())
    worker = Worker(settings, bus)
    for _ in range(10_000):
        if not await worker.run_due():
            break
    return moved


async def report_row(report_id: int) -> Report:
    return await Report.get(id=report_id)
