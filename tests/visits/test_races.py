"""Races against a real uvicorn server process on the test database (real concurrent HTTP requests):

- the same offline visit synced five times at once is stored once (one ``created``, four ``duplicate``), with one
  history row and one problem row, twenty times over;
- five phones editing the same visit from the same version at once: one edit applied, four conflicts that show
  the winner's content.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from backend.core.timeutil import utcnow
from backend.models.visits import Visit, VisitEvent, VisitProblem
from bench.harness import Server
from tests.visits.conftest import V, body, live_env

pytestmark = pytest.mark.live
ROUNDS = 20


@pytest.fixture(scope="module")
def server(database):  # type: ignore[no-untyped-def]
    srv = Server("backend.main:app_factory", factory=True, env=live_env(database.url))
    srv.wait()
    yield srv
    srv.stop()


async def _fire(url: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        return await asyncio.gather(*(http.post(path, json=data, headers=h) for path, data, h in calls))


class TestFiveConcurrentSyncs:
    async def test_one_visit_sent_five_times_at_once_is_stored_once(self, server, world):
        await world.assign("party", world.h(0, 0, 1))
        headers = world.headers["party"]
        for n in range(ROUNDS):
            item = body(world.h(0, 0, 1), tags=["safety"], notes=f"第{n}次")
            batch = {"sent_at": utcnow().isoformat(), "items": [item]}
            answers = await _fire(server.url, [(f"{V}/sync", batch, headers)] * 5)
            assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
            outcomes = sorted(a.json()["results"][0]["outcome"] for a in answers)
            assert outcomes == ["created", "duplicate", "duplicate", "duplicate", "duplicate"], (n, outcomes)
            ids = {a.json()["results"][0]["visit"]["id"] for a in answers}
            assert len(ids) == 1
            client_id = uuid.UUID(item["client_id"])
            assert await Visit.filter(client_id=client_id).count() == 1
            (vid,) = ids
            assert await VisitEvent.filter(visit_id=vid, action="created").count() == 1
            assert await VisitProblem.filter(visit_id=vid).count() == 1
        assert await Visit.all().count() == ROUNDS

    async def test_the_online_route_too(self, server, world):
        await world.assign("party", world.h(0, 0, 1))
        item = body(world.h(0, 0, 1))
        answers = await _fire(server.url, [(V, item, world.headers["party"])] * 5)
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
        assert await Visit.all().count() == 1


class TestConcurrentEdits:
    async def test_five_edits_from_the_same_version_one_wins(self, server, world, client):
        await world.assign("party", world.h(0, 0, 1))
        item = body(world.h(0, 0, 1))
        await client.post(V, json=item, headers=world.headers["party"])
        calls = [(f"{V}/sync", {"sent_at": utcnow().isoformat(),
                                "items": [{**item, "notes": f"手机{i}", "base_version": 1}]}, world.headers["party"])
                 for i in range(5)]
        answers = [a.json()["results"][0] for a in await _fire(server.url, calls)]
        assert sorted(a["outcome"] for a in answers) == ["conflict"] * 4 + ["updated"]
        winner = next(a for a in answers if a["outcome"] == "updated")["visit"]["notes"]
        stored = await Visit.get()
        assert (stored.version, stored.notes) == (2, winner)
        for a in answers:
            if a["outcome"] == "conflict":
                assert a["conflict"]["reason"] == "stale_version" and a["visit"]["notes"] == winner
        assert await VisitEvent.filter(action="edited").count() == 1


class TestConcurrentAssignments:
    async def test_five_leaders_giving_one_household_to_five_people_at_once(self, server, world):
        from backend.models.user import Role
        from backend.models.visits import Assignment, AssignmentSpan
        from tests.builders import make_user

        visitors = [await make_user(Role.PARTY_MEMBER, world.tree.grid(0, 0), name=f"党员{i}") for i in range(5)]
        h = world.h(0, 0, 2)
        calls = [(f"{V}/assignments", {"visitor_id": v.id, "household_ids": [h.id]}, world.headers["staff"])
                 for v in visitors]
        answers = await _fire(server.url, calls)
        codes = sorted(a.status_code for a in answers)
        assert codes[0] == 200 and all(c in (200, 409) for c in codes), [a.text for a in answers]
        assert {a.json()["error"] for a in answers if a.status_code == 409} <= {"AssignmentChanged"}
        # whatever the interleaving: one current visitor, exactly one open span, and it is theirs
        current = await Assignment.get(household_id=h.id)
        spans = await AssignmentSpan.filter(household_id=h.id).order_by("id")
        assert [s.visitor_id for s in spans if s.ended_at is None] == [current.visitor_id]
        assert len(spans) == codes.count(200)
