"""A visitor's plan: overdue, due and done households under the community's policy, nearest first.

The fixed-time fixture (now = Wednesday 2026-11-18 10:00, Beijing), households of grid 0 held since October:
- #0 elderly, alone (weekly):   visited 11-10 (last week), nobody yet this week           → due
- #1 困难 (twice a month):       visited 11-05 (first half), tried 11-17 nobody home       → due, 1 attempt
- #2 (monthly):                 never visited, so October went by without a visit          → overdue
- #3 (monthly):                 visited 11-02                                              → done
"""

from __future__ import annotations

from backend.models.visits import Visit
from backend.visits import plan
from tests.visits.conftest import CENTER, V, body, local

NOW = local(2026, 11, 18, 10)


async def _fixture(world) -> None:  # type: ignore[no-untyped-def]
    await world.assign("party", *(world.h(0, 0, i) for i in range(4)), at=local(2026, 10, 1))
    await world.visit("party", world.h(0, 0, 0), at=local(2026, 11, 10, 9))
    await world.visit("party", world.h(0, 0, 1), at=local(2026, 11, 5, 15))
    await world.visit("party", world.h(0, 0, 1), at=local(2026, 11, 17, 15), at_home=False)
    await world.visit("party", world.h(0, 0, 3), at=local(2026, 11, 2, 10))


class TestStatuses:
    async def test_hand_computed_fixture(self, world):
        await _fixture(world)
        out = await plan.plan(world["party"].id, default_fence=150, now=NOW)
        got = {i.household_id: (i.status, i.cadence, i.visits_in_slot, i.attempts_in_slot) for i in out.items}
        h = [world.h(0, 0, i).id for i in range(4)]
        assert got == {h[0]: ("due", "每周1次", 0, 0), h[1]: ("due", "每月2次", 0, 1),
                       h[2]: ("overdue", "每月1次", 0, 0), h[3]: ("done", "每月1次", 1, 0)}
        assert out.counts.model_dump() == {"overdue": 1, "due": 2, "done": 1, "none": 0, "total": 4}
        assert [i.status for i in out.items] == ["overdue", "due", "due", "done"]
        by_id = {i.household_id: i for i in out.items}
        assert f"{by_id[h[0]].due_by:%Y-%m-%d %H:%M}" == "2026-11-22 16:00"  # Monday 00:00 Beijing
        assert by_id[h[1]].last_visited_at == local(2026, 11, 5, 15)  # the attempt is not a visit

    async def test_a_week_later_the_weekly_household_is_overdue(self, world):
        await _fixture(world)
        out = await plan.plan(world["party"].id, default_fence=150, now=local(2026, 11, 24, 10))
        assert {i.household_id: i.status for i in out.items}[world.h(0, 0, 0).id] == "overdue"

    async def test_anyones_visit_counts_and_a_rejected_one_does_not(self, world):
        await _fixture(world)
        await world.visit("grid_worker", world.h(0, 0, 0), at=local(2026, 11, 17, 9))
        rejected = await world.visit("grid_worker", world.h(0, 0, 2), at=local(2026, 11, 17, 9))
        await Visit.filter(id=rejected.id).update(review_status="rejected")
        got = {i.household_id: i.status for i in (await plan.plan(world["party"].id, default_fence=150, now=NOW)).items}
        assert got[world.h(0, 0, 0).id] == "done" and got[world.h(0, 0, 2).id] == "overdue"

    async def test_a_household_given_mid_october_is_not_overdue_for_october(self, world):
        await world.assign("party", world.h(0, 0, 2), at=local(2026, 10, 12))
        out = await plan.plan(world["party"].id, default_fence=150, now=NOW)
        assert out.items[0].status == "due"

    async def test_households_no_rule_covers(self, client, world):
        rules = [{"name": "困难", "flags": ["is_hardship"], "per": "month", "times": 1}]
        await client.put(f"{V}/policies/{world.tree.community(0).id}", json={"rules": rules, "fence_m": 150},
                         headers=world.headers["staff"])
        await world.assign("party", world.h(0, 0, 1), world.h(0, 0, 2))
        out = await plan.plan(world["party"].id, default_fence=150, now=NOW)
        assert [(i.household_id, i.status, i.cadence) for i in out.items] == [
            (world.h(0, 0, 1).id, "due", "每月1次"), (world.h(0, 0, 2).id, "none", None)]


class TestRoute:
    async def test_nearest_first_from_where_i_stand(self, client, world):
        near_grid1 = {"lat": CENTER[0] + 0.0045, "lng": CENTER[1]}  # grid 1's building
        await world.assign("party", world.h(0, 0, 2), world.h(0, 1, 2), by="staff")
        resp = await client.get(f"{V}/plan", params=near_grid1, headers=world.headers["party"])
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert [(i["household_id"], i["distance_m"]) for i in items] == [
            (world.h(0, 1, 2).id, 0), (world.h(0, 0, 2).id, 500)]
        assert all(i["status"] == "due" for i in items)  # just assigned: nothing is overdue yet

    async def test_a_visit_moves_the_household_to_done(self, client, world):
        await world.assign("party", world.h(0, 0, 2), world.h(0, 0, 3))
        await client.post(V, json=body(world.h(0, 0, 3)), headers=world.headers["party"])
        out = (await client.get(f"{V}/plan", headers=world.headers["party"])).json()
        assert [(i["household_id"], i["status"]) for i in out["items"]] == [
            (world.h(0, 0, 2).id, "due"), (world.h(0, 0, 3).id, "done")]
        assert out["counts"]["done"] == 1 and out["policies"][0]["fence_m"] == 150

    async def test_the_grid_leader_sees_a_members_plan_others_do_not(self, client, world):
        await world.assign("party", world.h(0, 0, 2))
        url = f"{V}/plan?visitor_id={world['party'].id}"
        assert len((await client.get(url, headers=world.headers["leader"])).json()["items"]) == 1
        for who in ("leader_other", "party_2"):
            resp = await client.get(url, headers=world.headers[who])
            assert resp.status_code == 404 and resp.json()["error"] == "VisitorNotFound"
