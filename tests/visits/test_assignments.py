"""党员联户: households are given to a visitor of their community; a grid leader can move them, and every move
closes one span and opens another, so the history is kept; nothing is half done."""

from __future__ import annotations

from backend.models.notifications import InboxItem, NotificationEvent
from backend.models.visits import Assignment, AssignmentSpan
from tests.visits.conftest import V


async def _assign(client, world, who: str, *households, by: str = "leader", reason: str | None = None):  # type: ignore[no-untyped-def]
    return await client.post(f"{V}/assignments", headers=world.headers[by], json={
        "visitor_id": world[who].id, "household_ids": [h.id for h in households], "reason": reason})


class TestAssign:
    async def test_a_leader_gives_households_and_the_visitor_is_told(self, client, world):
        resp = await _assign(client, world, "party", world.h(0, 0, 0), world.h(0, 0, 1))
        assert resp.status_code == 200 and resp.json() == {"assigned": 2, "moved": 0, "unchanged": 0}
        assert await Assignment.filter(visitor_id=world["party"].id).count() == 2
        assert await AssignmentSpan.filter(visitor_id=world["party"].id, ended_at=None).count() == 2
        event = await NotificationEvent.get(kind="visits.assigned")
        assert event.title == "您新联系了 2 户居民"
        assert await InboxItem.filter(event_id=event.id, user_id=world["party"].id).exists()
        mine = (await client.get(f"{V}/assignments", headers=world.headers["party"])).json()["items"]
        assert sorted(a["household_label"] for a in mine) == ["1号楼 1单元101", "1号楼 1单元201"]

    async def test_moving_keeps_the_history_and_tells_both(self, client, world):
        h = world.h(0, 0, 1)
        await _assign(client, world, "party", h)
        resp = await _assign(client, world, "party_2", h, reason="老张住院")
        assert resp.json() == {"assigned": 0, "moved": 1, "unchanged": 0}
        assert (await Assignment.get(household_id=h.id)).visitor_id == world["party_2"].id
        history = (await client.get(f"{V}/assignments/{h.id}/history", headers=world.headers["leader"])).json()
        assert [(s["visitor_name"], s["ended_at"] is None, s["end_reason"]) for s in history] == [
            ("党员小李", True, None), ("党员老张", False, "老张住院")]
        told = await NotificationEvent.filter(kind="visits.assigned").order_by("id").values_list("title", flat=True)
        assert told == ["您新联系了 1 户居民", "您新联系了 1 户居民", "您联系的 1 户已改由其他人员联系"]

    async def test_giving_the_same_household_again_changes_nothing(self, client, world):
        await _assign(client, world, "party", world.h(0, 0, 1))
        resp = await _assign(client, world, "party", world.h(0, 0, 1))
        assert resp.json() == {"assigned": 0, "moved": 0, "unchanged": 1}
        assert await AssignmentSpan.all().count() == 1

    async def test_unassigning_closes_the_span(self, client, world):
        h = world.h(0, 0, 1)
        await _assign(client, world, "party", h)
        resp = await client.delete(f"{V}/assignments/{h.id}?reason=搬走了", headers=world.headers["leader"])
        assert resp.status_code == 204
        assert not await Assignment.exists(household_id=h.id)
        span = await AssignmentSpan.get(household_id=h.id)
        assert span.ended_at is not None and span.end_reason == "搬走了"
        again = await client.delete(f"{V}/assignments/{h.id}", headers=world.headers["leader"])
        assert again.status_code == 404


class TestRefusals:
    async def test_a_party_member_of_another_community_cannot_be_given_households_here(self, client, world):
        resp = await _assign(client, world, "party_other", world.h(0, 0, 1))
        assert resp.status_code == 422 and resp.json()["error"] == "NotAVisitor"
        assert resp.json()["detail"] == {"household_ids": [world.h(0, 0, 1).id]}
        assert await Assignment.all().count() == 0

    async def test_residents_are_not_visitors(self, client, world):
        resp = await _assign(client, world, "resident", world.h(0, 0, 1))
        assert resp.status_code == 422 and await Assignment.all().count() == 0

    async def test_one_household_outside_the_leaders_grid_spoils_the_whole_batch(self, client, world):
        resp = await _assign(client, world, "party", world.h(0, 0, 1), world.h(0, 1, 1))
        assert resp.status_code == 404 and resp.json()["detail"] == {"household_ids": [world.h(0, 1, 1).id]}
        assert await Assignment.all().count() == 0 and await AssignmentSpan.all().count() == 0

    async def test_an_unknown_visitor(self, client, world):
        resp = await client.post(f"{V}/assignments", headers=world.headers["leader"],
                                 json={"visitor_id": 999999, "household_ids": [world.h(0, 0, 1).id]})
        assert resp.status_code == 404 and resp.json()["error"] == "VisitorNotFound"

    async def test_grid_workers_and_party_members_cannot_assign(self, client, world):
        for who in ("grid_worker", "party"):
            resp = await _assign(client, world, "party", world.h(0, 0, 1), by=who)
            assert resp.status_code == 403
        assert await Assignment.all().count() == 0


class TestLists:
    async def test_each_sees_their_part(self, client, world):
        await _assign(client, world, "party", world.h(0, 0, 1))
        await _assign(client, world, "party_2", world.h(0, 1, 1), by="staff")
        await _assign(client, world, "party_other", world.h(1, 0, 1), by="staff_other")

        async def seen(who: str) -> set[int]:
            resp = await client.get(f"{V}/assignments?limit=100", headers=world.headers[who])
            return {a["household_id"] for a in resp.json()["items"]}

        assert await seen("leader") == {world.h(0, 0, 1).id}
        assert await seen("staff") == {world.h(0, 0, 1).id, world.h(0, 1, 1).id}
        assert await seen("street") == {world.h(0, 0, 1).id, world.h(0, 1, 1).id, world.h(1, 0, 1).id}
        assert await seen("party_2") == {world.h(0, 1, 1).id}
        assert await seen("grid_worker") == set()
