"""Delivery fixtures: a street of two communities placed on the map (Lanzhou), a store with stock, residents
with points, volunteers with active profiles around the store, staff in every role that matters, and helpers
that read like the domain (``await volunteer(w, "甲", near=w.store_point)``, ``await run_matching(...)``)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import pytest

from backend.core import crypto
from backend.core.timeutil import utcnow
from backend.ledger import service as ledger
from backend.models.ledger import Account, Currency, OwnerKind
from backend.models.org import OrgUnit
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.store import Store, StoreItem
from backend.models.user import Role, RoleGrant, User
from backend.models.volunteers import VolunteerProfile, VolunteerStatus
from backend.outbox import registry
from backend.outbox.worker import Worker
from backend.volunteers import geohash
from tests.builders import Tree, auth_headers, make_org_tree, make_user, next_phone
from tests.conftest import REDIS_URL, TEST_SECRET

CENTER = (36.0712, 103.7405)
_ids = itertools.count(1)


def id_number(n: int | None = None) -> str:
    """A valid 18-digit resident ID number (check digit by GB 11643)."""
    body = f"620103199001{(n or next(_ids)) % 100000:05d}"
    return body + crypto.CHECK[sum(int(d) * w for d, w in zip(body, crypto.WEIGHTS, strict=True)) % 11]


@dataclass
class World:
    tree: Tree
    people: dict[str, User]
    store: Store
    items: dict[str, StoreItem]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> User:
        return self.people[name]

    @property
    def community(self) -> OrgUnit:
        return self.tree.community(0)


async def place_tree(tree: Tree) -> None:
    """Put every unit on the map: community c about 5 km east of the previous, grids 400 m apart."""
    for c, community in enumerate(tree.communities):
        base = (CENTER[0], CENTER[1] + 0.055 * c)
        await OrgUnit.filter(id=community.unit.id).update(lat=base[0], lng=base[1])
        for g, grid in enumerate(community.grids):
            point = (base[0] + 0.0036 * g, base[1])
            await OrgUnit.filter(id=grid.id).update(lat=point[0], lng=point[1])
            for b in community.buildings[grid.id]:
                await OrgUnit.filter(id=b.id).update(lat=point[0] + 0.0005, lng=point[1] + 0.0005)


async def volunteer(
    settings,
    name: str,
    at: tuple[float, float],
    *,
    community: OrgUnit,
    skills=("delivery",),  # type: ignore[no-untyped-def]
    max_active: int = 3,
    radius_m: int = 5000,
    household=None,
    status=VolunteerStatus.ACTIVE,
) -> User:
    user = await make_user(Role.VOLUNTEER, community, name=name, household=household)
    number = id_number()
    fp = crypto.fingerprint(settings, number)
    await VolunteerProfile.create(
        user=user,
        real_name=name,
        id_number_hash=fp,
        id_number_enc=crypto.encrypt(settings, number, bound_to=fp),
        id_number_masked=number[:3] + "*" * 11 + number[-4:],
        status=status,
        skills=list(skills),
        lat=at[0],
        lng=at[1],
        **geohash.cells(*at),
        service_radius_m=radius_m,
        max_active=max_active,
        street_id=community.street_id,
        community_id=community.id,
    )
    return user


async def give_points(user: User, points: int, *, community: OrgUnit, staff: User) -> None:
    outcome = await ledger.award(
        user.id,
        community=community,
        currency=Currency.POINT,
        amount=points,
        reason="测试积分",
        actor_id=staff.id,
    )
    assert outcome.posted is not None


async def balance(user_id: int, currency: Currency = Currency.POINT) -> int:
    account = await Account.get_or_none(owner_kind=OwnerKind.USER, owner_id=user_id, currency=currency)
    return account.balance if account else 0


async def run_outbox(settings, bus, *, due_only: bool = True, rounds: int = 20) -> None:  # type: ignore[no-untyped-def]
    """Run the outbox events that are due now (timers stay timers unless ``due_only=False``)."""
    registry.load_all()
    worker = Worker(settings, bus)
    for _ in range(rounds):
        if not due_only:
            await OutboxEvent.filter(status=OutboxStatus.PENDING).update(run_at=utcnow())
        if not await worker.run_due():
            break


async def next_wave(settings, bus, task_id: int) -> None:  # type: ignore[no-untyped-def]
    """Let the current wave's timer of this task run out now (nobody accepted in time)."""
    events = await OutboxEvent.filter(kind="tasks.next_wave", status=OutboxStatus.PENDING)
    for e in events:
        if e.payload["task_id"] == task_id:
            await OutboxEvent.filter(id=e.id).update(run_at=utcnow())
    await run_outbox(settings, bus)


@pytest.fixture
async def world(settings) -> World:  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2, households=3)
    await place_tree(tree)
    c1, c2 = tree.community(0), tree.community(1)
    c1 = await OrgUnit.get(id=c1.id)
    staff = await make_user(Role.COMMUNITY_STAFF, c1, name="社区干部")
    people = {
        "resident": await make_user(Role.RESIDENT, c1, name="王奶奶", household=tree.household(0, 0, 0)),
        "family": await make_user(Role.RESIDENT, c1, name="王奶奶的儿子", household=tree.household(0, 0, 0)),
        "neighbour": await make_user(Role.RESIDENT, c1, name="李大爷", household=tree.household(0, 0, 1)),
        "outsider": await make_user(Role.RESIDENT, c2, name="外社区居民", household=tree.household(1, 0, 0)),
        "grid_worker": await make_user(Role.GRID_WORKER, tree.grid(0, 0), name="网格员"),
        "grid_worker_other": await make_user(Role.GRID_WORKER, tree.grid(0, 1), name="另一网格员"),
        "staff": staff,
        "staff_other": await make_user(Role.COMMUNITY_STAFF, c2, name="外社区干部"),
        "street": await make_user(Role.STREET_STAFF, tree.street, name="街道干部"),
        "admin": await make_user(Role.ADMIN, name="管理员"),
        "nobody": await make_user(name="无角色"),
    }
    from backend.store import service as store_service
    from backend.store.schemas import ItemIn, StoreIn

    store = await store_service.create_store(
        c1, StoreIn(community_id=c1.id, name="爱心超市", lat=CENTER[0], lng=CENTER[1]), actor_id=staff.id
    )
    items = {
        "rice": await store_service.create_item(
            store,
            ItemIn(name="大米", category="粮油", unit="袋", price_points=10, monthly_limit=2, low_stock_at=3),
            actor_id=staff.id,
        ),
        "oil": await store_service.create_item(
            store, ItemIn(name="食用油", category="粮油", unit="瓶", price_points=5), actor_id=staff.id
        ),
    }
    await StoreItem.filter(id=items["rice"].id).update(stock=20)
    await StoreItem.filter(id=items["oil"].id).update(stock=50)
    for name in ("resident", "neighbour"):
        await give_points(people[name], 100, community=c1, staff=staff)
    w = World(tree=tree, people=people, store=store, items=items)
    w.headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return w


def live_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a uvicorn server process on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINLIN_")}
    env.update(
        {
            "JINLIN_ENV": "test",
            "JINLIN_SECRET_KEY": TEST_SECRET,
            "JINLIN_DATABASE_URL": database_url,
            "JINLIN_LOG_LEVEL": "WARNING",
            "JINLIN_LOG_JSON": "false",
            "JINLIN_H5_DIR": "",
            "JINLIN_WORKER_IN_PROCESS": "false",
            "JINLIN_DB_POOL_SIZE": "20",
        }
    )
    if REDIS_URL:
        env["JINLIN_REDIS_URL"] = REDIS_URL
    env.update(extra)
    return env


__all__ = ["RoleGrant", "next_phone", "Role"]
