"""Races against a real uvicorn server process on the test database (real concurrent HTTP requests):

- 500 volunteers accept one task at once: exactly one 2xx, 499 × 409 TaskAlreadyClaimed, one assignment row,
  every other offer withdrawn and each of those volunteers told so; run three times.
- 200 residents order the last 50 bags at once: exactly 50 orders, the shelf ends at 0 (never below: sampled
  during the race), and points were reserved exactly 50 times.
- 30 people of one household order an item limited to 3 a month at once: exactly 3 orders; cancels and new
  orders of one household at once all succeed (no deadlock between them).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from backend.core.timeutil import utcnow
from backend.models.ledger import Transfer, TransferKind
from backend.models.notifications import InboxItem, NotificationEvent
from backend.models.org import OrgUnit
from backend.models.store import HouseholdQuota, Order, OrderStatus, StoreItem
from backend.models.tasks import OfferStatus, Task, TaskAssignment, TaskKind, TaskOffer, TaskStatus
from backend.models.user import Role
from backend.models.volunteers import VolunteerProfile, VolunteerStatus
from backend.volunteers import geohash
from bench.harness import Server
from tests.builders import make_user, tokens_for
from tests.delivery.conftest import CENTER, balance, give_points, live_env, run_outbox

pytestmark = pytest.mark.live
N_VOLUNTEERS = 500


@pytest.fixture(scope="module")
def server(database):  # type: ignore[no-untyped-def]
    srv = Server("backend.main:app_factory", factory=True, env=live_env(database.url))
    srv.wait()
    yield srv
    srv.stop()


async def _volunteers(community: OrgUnit, n: int) -> list[int]:
    """n volunteers with active profiles around the centre (bulk, like a city's register)."""
    from backend.models.user import RoleGrant, User

    users = await User.bulk_create([User(name=f"志愿者{i}", phone=f"1588{i:07d}") for i in range(n)])
    users = await User.filter(phone__startswith="1588").order_by("id")
    await RoleGrant.bulk_create(
        [RoleGrant(user_id=u.id, role=Role.VOLUNTEER, org_unit_id=community.id) for u in users]
    )
    profiles = []
    for i, u in enumerate(users):
        lat, lng = CENTER[0] + (i % 20) * 0.0002, CENTER[1] + (i // 20) * 0.0002
        profiles.append(
            VolunteerProfile(
                user_id=u.id,
                real_name=f"志愿者{i}",
                id_number_enc="v1.x",
                id_number_hash=f"h{i}",
                id_number_masked="620***",
                status=VolunteerStatus.ACTIVE,
                skills=[],
                lat=lat,
                lng=lng,
                **geohash.cells(lat, lng),
                street_id=community.street_id,
                community_id=community.id,
            )
        )
    await VolunteerProfile.bulk_create(profiles)
    return [u.id for u in users]


async def _offered_task(world, volunteer_ids: list[int], round_: int = 0) -> Task:  # type: ignore[no-untyped-def]
    task = await Task.create(
        kind=TaskKind.HELP,
        help_kind="visit",
        title="上门探望",
        origin_lat=CENTER[0],
        origin_lng=CENTER[1],
        created_by_id=world["staff"].id,
        requester_id=world["resident"].id,
        household_id=world.tree.household(0, 0, 0).id,
        due_at=utcnow(),
        wave=1,
        street_id=world.community.street_id,
        community_id=world.community.id,
        grid_id=world.tree.grid(0, 0).id,
    )
    await TaskOffer.bulk_create(
        [TaskOffer(task_id=task.id, volunteer_id=v, round=0, wave=1, distance_m=100) for v in volunteer_ids]
    )
    return task


async def _fire(url: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        return await asyncio.gather(
            *(
                http.post(path, headers=h) if body is None else http.post(path, json=body, headers=h)
                for path, h, body in requests
            )
        )


class TestFiveHundredAccepts:
    async def test_exactly_one_volunteer_wins_three_times_over(self, server, settings, bus, world):
        ids = await _volunteers(world.community, N_VOLUNTEERS)
        from backend.models.user import User

        headers = {}
        for uid in ids:
            pair = await tokens_for(settings, await User.get(id=uid))
            headers[uid] = {"Authorization": f"Bearer {pair.access_token}"}
        for attempt in range(3):
            task = await _offered_task(world, ids)
            started = time.monotonic()
            answers = await _fire(
                server.url, [(f"/api/v1/tasks/{task.id}/accept", headers[uid], None) for uid in ids]
            )
            elapsed = time.monotonic() - started
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [200] + [409] * (N_VOLUNTEERS - 1), (attempt, statuses[:3], statuses[-3:])
            losers = [r.json() for r in answers if r.status_code == 409]
            assert {b["error"] for b in losers} == {"TaskAlreadyClaimed"}
            assert all("已被其他志愿者接单" in b["message"] for b in losers)
            winner = next(r.json() for r in answers if r.status_code == 200)["volunteer_id"]
            fresh = await Task.get(id=task.id)
            assert (fresh.status, fresh.volunteer_id) == (TaskStatus.ACCEPTED, winner)
            assert await TaskAssignment.filter(task_id=task.id).count() == 1
            assert await TaskOffer.filter(task_id=task.id, status=OfferStatus.ACCEPTED).count() == 1
            assert (
                await TaskOffer.filter(task_id=task.id, status=OfferStatus.WITHDRAWN).count()
                == N_VOLUNTEERS - 1
            )
            assert await VolunteerProfile.filter(active_tasks=1).count() == 1
            # the 499 hear about it through notify(), after commit, through the outbox
            await run_outbox(settings, bus)
            told = await _told(task.id)
            assert told == sorted(set(ids) - {winner})
            print(f"attempt {attempt}: {N_VOLUNTEERS} accepts answered in {elapsed:.2f}s")
            await VolunteerProfile.all().update(active_tasks=0)


async def _told(task_id: int) -> list[int]:
    """Who got the "taken by someone else" notice for this task."""
    events = await NotificationEvent.filter(kind="tasks.withdrawn")
    ids = [e.id for e in events if e.data.get("task_id") == task_id]
    return sorted(await InboxItem.filter(event_id__in=ids).values_list("user_id", flat=True))


class TestTwoHundredOrders:
    async def test_fifty_bags_go_to_exactly_fifty_orders(self, server, settings, bus, world):
        rice = world.items["rice"]
        await StoreItem.filter(id=rice.id).update(stock=50, monthly_limit=None)
        residents = []
        for i in range(200):
            user = await make_user(Role.RESIDENT, world.community, name=f"居民{i}")
            await give_points(user, 10, community=world.community, staff=world["staff"])
            residents.append(user)
        heads = [
            {"Authorization": f"Bearer {(await tokens_for(settings, u)).access_token}"} for u in residents
        ]
        body = {"store_id": world.store.id, "fulfilment": "pickup", "lines": [{"item_id": rice.id, "qty": 1}]}
        samples: list[int] = []
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                samples.append((await StoreItem.get(id=rice.id)).stock)
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        answers = await _fire(server.url, [("/api/v1/store/orders", h, body) for h in heads])
        stop.set()
        await sampler
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] * 50 + [409] * 150, statuses
        assert {r.json()["error"] for r in answers if r.status_code == 409} == {"OutOfStock"}
        item = await StoreItem.get(id=rice.id)
        assert (item.stock, item.held) == (0, 50)
        assert samples and min(samples) >= 0
        assert await Order.filter(status=OrderStatus.CONFIRMED).count() == 50
        assert await Transfer.filter(kind=TransferKind.RESERVE).count() == 50
        balances = sorted([await balance(u.id) for u in residents])
        assert balances == [0] * 50 + [10] * 150  # debited exactly once each, 50 times in all


class TestOneHouseholdAtOnce:
    async def test_thirty_family_members_get_exactly_the_monthly_limit(self, server, settings, bus, world):
        rice = world.items["rice"]
        await StoreItem.filter(id=rice.id).update(stock=50, monthly_limit=3)
        home = world.tree.household(0, 1, 0)
        family = []
        for i in range(30):
            user = await make_user(Role.RESIDENT, world.community, name=f"家人{i}", household=home)
            await give_points(user, 10, community=world.community, staff=world["staff"])
            family.append(user)
        heads = [{"Authorization": f"Bearer {(await tokens_for(settings, u)).access_token}"} for u in family]
        body = {"store_id": world.store.id, "fulfilment": "pickup", "lines": [{"item_id": rice.id, "qty": 1}]}
        answers = await _fire(server.url, [("/api/v1/store/orders", h, body) for h in heads])
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] * 3 + [409] * 27, statuses
        assert {r.json()["error"] for r in answers if r.status_code == 409} == {"MonthlyLimitReached"}
        assert [q.used for q in await HouseholdQuota.filter(holder=f"h{home.id}")] == [3]
        item = await StoreItem.get(id=rice.id)
        assert (item.stock, item.held) == (47, 3)
        assert sorted([await balance(u.id) for u in family]) == [0] * 3 + [10] * 27

    async def test_cancels_and_new_orders_of_one_household_at_once_never_fail(
        self, server, settings, bus, world
    ):
        """Place and cancel take the order, the quota, the ledger and the items in the same order: no deadlock
        (which PostgreSQL would break by failing one of them) however they interleave."""
        rice, oil = world.items["rice"], world.items["oil"]
        await StoreItem.filter(id=rice.id).update(stock=100, monthly_limit=100)
        home = world.tree.household(0, 1, 0)
        family = []
        for i in range(20):
            user = await make_user(Role.RESIDENT, world.community, name=f"家人{i}", household=home)
            await give_points(user, 100, community=world.community, staff=world["staff"])
            family.append(user)
        heads = [{"Authorization": f"Bearer {(await tokens_for(settings, u)).access_token}"} for u in family]
        body = {
            "store_id": world.store.id,
            "fulfilment": "pickup",
            "lines": [{"item_id": rice.id, "qty": 2}, {"item_id": oil.id, "qty": 1}],
        }
        placed = await _fire(server.url, [("/api/v1/store/orders", h, body) for h in heads[:10]])
        assert [r.status_code for r in placed] == [201] * 10
        work = [
            (f"/api/v1/store/orders/{r.json()['id']}/cancel", h, {"reason": "不要了"})
            for r, h in zip(placed, heads[:10], strict=True)
        ]
        work += [("/api/v1/store/orders", h, body) for h in heads[10:]]
        answers = await _fire(server.url, work)
        assert sorted(r.status_code for r in answers) == [200] * 10 + [201] * 10, [r.text for r in answers]
        open_orders = await Order.filter(status=OrderStatus.CONFIRMED).count()
        assert open_orders == 10
        assert [q.used for q in await HouseholdQuota.filter(holder=f"h{home.id}", item_id=rice.id)] == [20]
        item = await StoreItem.get(id=rice.id)
        assert (item.stock, item.held) == (80, 20)
