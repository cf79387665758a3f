"""Role × scope on every visits route: each role reaches what its grants cover; anything outside is 404 (never
403, which would reveal that it exists), a role that never may is 403, anonymous callers 401; always in the one
error shape, and a refused write writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise import connections

from backend.visits import months
from tests.visits.conftest import V, body

EVERYONE = ("party", "party_2", "party_other", "grid_worker", "grid_worker_other", "leader", "leader_other",
            "staff", "staff_other", "street", "admin", "resident", "volunteer", "nobody")
VISITORS = set(EVERYONE) - {"resident", "volunteer", "nobody"}
MANAGERS = {"leader", "leader_other", "staff", "staff_other", "street", "admin"}
EDITORS = {"staff", "staff_other", "street", "admin"}
READERS = MANAGERS | {"grid_worker", "grid_worker_other"}
TABLES = ("visit", "visit_event", "visit_problem", "visit_assignment", "visit_assignment_span", "visit_policy",
          "visit_household_profile", "visit_household_member", "visit_household_change", "visit_month",
          "visit_month_event", "report", "audit_log")


@pytest.fixture
async def o(client, world):  # type: ignore[no-untyped-def]
    """A visit with a problem by 党员老张 at A1 (his), his submitted 台账 for last month, and the ids around them."""
    last = months.previous_month()
    start, _ = months.bounds(last)
    await world.assign("party", world.h(0, 0, 1), at=start - timedelta(days=3))
    visit = (await client.post(V, json=body(world.h(0, 0, 1), tags=["safety"]), headers=world.headers["party"])).json()
    await months.submit(await world.principal("party"), last)
    from backend.models.visits import VisitMonth

    return {"visit": visit["id"], "problem": visit["problems"][0]["id"], "household": world.h(0, 0, 1).id,
            "month": (await VisitMonth.get()).id, "last": last, "community": world.tree.community(0).id,
            "grid": world.tree.grid(0, 0).id, "member": None}


def expect(who: str, allowed: set[str], roles: set[str]) -> int:
    return 200 if who in allowed else 404 if who in roles else 403


# path, who may (200), which roles get past the role check (the rest of them: 404)
READS = [
    ("/tags", VISITORS, VISITORS),
    ("/plan", VISITORS, VISITORS),
    ("", VISITORS, VISITORS),
    ("/assignments", VISITORS, VISITORS),
    ("/months/mine", VISITORS, VISITORS),
    ("/months", MANAGERS, MANAGERS),
    ("/{visit}", {"party", "grid_worker", "leader", "staff", "street", "admin"}, VISITORS),
    ("/households/{household}/ledger", {"party", "grid_worker", "leader", "staff", "street", "admin"}, VISITORS),
    ("/households/{household}/ledger/history", {"party", "grid_worker", "leader", "staff", "street", "admin"},
     VISITORS),
    ("/assignments/{household}/history", {"leader", "staff", "street", "admin"}, MANAGERS),
    ("/policies/{community}", {"staff", "street", "admin"}, EDITORS),
    ("/report?unit_id={community}", {"staff", "street", "admin"}, READERS),
    ("/report?unit_id={grid}", {"grid_worker", "leader", "staff", "street", "admin"}, READERS),
    ("/report/export?unit_id={grid}", {"grid_worker", "leader", "staff", "street", "admin"}, READERS),
]


async def _counts() -> dict[str, int]:
    conn = connections.get("default")
    out = {}
    for table in TABLES:
        _, rows = await conn.execute_query(f'SELECT COUNT(*) AS n FROM "{table}"')
        out[table] = rows[0]["n"] if isinstance(rows[0], dict) else rows[0][0]
    return out


class TestReads:
    @pytest.mark.parametrize("who", EVERYONE)
    @pytest.mark.parametrize(("path", "allowed", "roles"), READS)
    async def test_get(self, client, world, o, who, path, allowed, roles):
        resp = await client.get(V + path.format(**o), headers=world.headers[who])
        expected = expect(who, allowed, roles)
        assert resp.status_code == expected, (path, who, resp.text[:300])
        if expected != 200:
            assert set(resp.json()) == {"error", "message", "detail"}

    async def test_anonymous_callers_get_401(self, client, world, o):
        for path, _, _ in READS:
            resp = await client.get(V + path.format(**o))
            assert resp.status_code == 401 and set(resp.json()) == {"error", "message", "detail"}

    @pytest.mark.parametrize(("who", "sees"), [
        ("party", {"party"}), ("party_2", set()), ("grid_worker", {"party"}), ("grid_worker_other", set()),
        ("leader", {"party"}), ("staff", {"party"}), ("staff_other", set()), ("street", {"party"}),
    ])
    async def test_visit_lists_show_only_the_scope(self, client, world, o, who, sees):
        items = (await client.get(f"{V}?limit=100", headers=world.headers[who])).json()["items"]
        names = {n for n, u in world.people.items() if u.id in {i["visitor_id"] for i in items}}
        assert names == sees

    @pytest.mark.parametrize(("who", "count"), [("leader", 1), ("staff", 1), ("street", 1), ("leader_other", 0),
                                                ("staff_other", 0)])
    async def test_month_lists_show_only_the_scope(self, client, world, o, who, count):
        assert len((await client.get(f"{V}/months", headers=world.headers[who])).json()["items"]) == count


WRITES = [
    ("POST", "/{visit}/review", lambda o: {"decision": "accept"}, {"leader", "staff", "street", "admin"}, MANAGERS),
    ("POST", "/problems/{problem}/solve", lambda o: {"note": "已处理"},
     {"party", "grid_worker", "leader", "staff", "street", "admin"}, VISITORS),
    ("PATCH", "/households/{household}/ledger", lambda o: {"version": 0, "people_living": 3},
     {"party", "grid_worker", "leader", "staff", "street", "admin"}, VISITORS),
    ("POST", "/households/{household}/members", lambda o: {"name": "王小明"},
     {"party", "grid_worker", "leader", "staff", "street", "admin"}, VISITORS),
    ("PUT", "/policies/{community}", lambda o: {"rules": [{"name": "全部", "per": "month", "times": 1}], "fence_m": 99},
     {"staff", "street", "admin"}, EDITORS),
    ("POST", "/months/{month}/approve", lambda o: {}, {"leader", "staff", "street", "admin"}, MANAGERS),
    ("POST", "/months/{month}/return", lambda o: {"reason": "请补充"}, {"leader", "staff", "street", "admin"}, MANAGERS),
    ("DELETE", "/assignments/{household}", None, {"leader", "staff", "street", "admin"}, MANAGERS),
]


class TestWrites:
    @pytest.mark.parametrize("who", EVERYONE)
    @pytest.mark.parametrize(("method", "path", "make", "allowed", "roles"), WRITES)
    async def test_write(self, client, world, o, who, method, path, make, allowed, roles):
        before = await _counts()
        kwargs = {"json": make(o)} if make else {}
        resp = await client.request(method, V + path.format(**o), headers=world.headers[who], **kwargs)
        ok = who in allowed
        assert (resp.status_code < 300) == ok, (method, path, who, resp.status_code, resp.text[:300])
        if not ok:
            assert resp.status_code == expect(who, allowed, roles), (method, path, who, resp.text[:200])
            assert set(resp.json()) == {"error", "message", "detail"}
            assert await _counts() == before

    @pytest.mark.parametrize("who", EVERYONE)
    async def test_assign(self, client, world, o, who):
        before = await _counts()
        resp = await client.post(f"{V}/assignments", headers=world.headers[who],
                                 json={"visitor_id": world["party"].id, "household_ids": [world.h(0, 0, 2).id]})
        allowed = {"leader", "staff", "street", "admin"}
        assert resp.status_code == expect(who, allowed, MANAGERS), (who, resp.text)
        if who not in allowed:
            assert await _counts() == before

    @pytest.mark.parametrize("who", ["party_2", "party_other", "grid_worker_other", "leader_other", "staff_other"])
    async def test_report_a_problem_outside_ones_scope(self, client, world, o, who):
        before = await _counts()
        resp = await client.post(f"{V}/problems/{o['problem']}/report", json={}, headers=world.headers[who])
        assert resp.status_code == 404 and await _counts() == before

    @pytest.mark.parametrize("who", ["resident", "volunteer", "nobody"])
    async def test_those_who_never_visit(self, client, world, o, who):
        before = await _counts()
        for method, path in (("POST", "/sync"), ("POST", ""), ("POST", f"/months/{o['last']}/submit")):
            payload = {"sent_at": "2026-11-18T10:00:00+08:00", "items": [body(world.h(0, 0, 1))]} if path == "/sync" \
                else body(world.h(0, 0, 1)) if path == "" else None
            resp = await client.request(method, V + path, headers=world.headers[who], json=payload)
            assert resp.status_code == 403
        assert await _counts() == before
