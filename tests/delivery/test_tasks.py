"""The 服务快递站: matching in waves (paired volunteer first, then nearest with skills and load, wider, then
the grid worker), what a volunteer may see and accept, and every step to hours credited exactly once."""

from __future__ import annotations

import pytest

from backend.models.ledger import Currency, Transfer, TransferKind
from backend.models.notifications import InboxItem
from backend.models.store import Order, StoreItem
from backend.models.tasks import OfferStatus, Task, TaskAssignment, TaskEvent, TaskOffer, TaskStatus
from backend.models.volunteers import Pairing, VolunteerProfile
from backend.tasks import service
from backend.tasks.exceptions import TaskAlreadyClaimed
from tests.builders import auth_headers
from tests.delivery.conftest import CENTER, balance, next_wave, run_outbox, volunteer

NEAR = (CENTER[0] + 0.001, CENTER[1])  # ~110 m from the store
FAR = (CENTER[0] + 0.02, CENTER[1])  # ~2.2 km


async def _delivery(client, world) -> int:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/v1/store/orders",
        headers=world.headers["resident"],
        json={
            "store_id": world.store.id,
            "fulfilment": "delivery",
            "lines": [{"item_id": world.items["rice"].id, "qty": 2}],
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["task_id"]


async def _help(client, world, who="resident", kind="visit") -> int:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/v1/tasks/help", headers=world.headers[who], json={"help_kind": kind, "note": "想有人聊聊天"}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def offered(task_id: int) -> set[int]:
    return set(
        await TaskOffer.filter(task_id=task_id, status=OfferStatus.OPEN).values_list(
            "volunteer_id", flat=True
        )
    )


class TestMatching:
    async def test_the_paired_volunteer_is_asked_first_then_the_nearest(self, client, settings, bus, world):
        pair = await volunteer(settings, "结对志愿者", FAR, community=world.community)
        near = await volunteer(settings, "近处志愿者", NEAR, community=world.community)
        await Pairing.create(
            volunteer=pair,
            resident=world["resident"],
            active_key=world["resident"].id,
            created_by_id=world["staff"].id,
            community_id=world.community.id,
        )
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        assert await offered(task_id) == {pair.id}
        await next_wave(settings, bus, task_id)
        assert await offered(task_id) == {pair.id, near.id}
        assert (await Task.get(id=task_id)).wave == 1

    async def test_skill_and_load_rank_within_the_wave_and_the_wave_widens(
        self, client, settings, bus, world
    ):
        from backend.tasks import enums

        enums_waves = enums.WAVES
        enums.WAVES = ((1500, 1), (3000, 2))
        try:
            busy = await volunteer(settings, "忙", NEAR, community=world.community, skills=("visiting",))
            await VolunteerProfile.filter(user_id=busy.id).update(active_tasks=2)
            skilled = await volunteer(
                settings,
                "会探望",
                (CENTER[0] + 0.004, CENTER[1]),
                community=world.community,
                skills=("visiting",),
            )
            plain = await volunteer(
                settings, "普通", (CENTER[0] + 0.002, CENTER[1]), community=world.community, skills=()
            )
            far = await volunteer(settings, "远", FAR, community=world.community)
            task_id = await _help(client, world)
            await run_outbox(settings, bus)
            assert await offered(task_id) == {skilled.id}  # skill beats 200 m, and the busy one ranks last
            await next_wave(settings, bus, task_id)
            assert await offered(task_id) == {skilled.id, plain.id, busy.id}
            await next_wave(settings, bus, task_id)  # nobody new within reach: escalate to the grid worker
            task = await Task.get(id=task_id)
            assert task.escalated_at is not None and far.id not in await offered(task_id)
            assert (
                await InboxItem.filter(user_id=world["grid_worker"].id, kind="tasks.escalated").count() == 1
            )
            listed = await client.get("/api/v1/tasks?escalated=true", headers=world.headers["grid_worker"])
            assert [t["id"] for t in listed.json()["items"]] == [task_id]
        finally:
            enums.WAVES = enums_waves

    async def test_nobody_suspended_unavailable_or_out_of_their_area_is_offered(
        self, client, settings, bus, world
    ):
        await volunteer(settings, "暂停", NEAR, community=world.community, status="suspended")
        await volunteer(settings, "范围小", FAR, community=world.community, radius_m=500)
        closed = await volunteer(settings, "没空", NEAR, community=world.community)
        await VolunteerProfile.filter(user_id=closed.id).update(availability="0" * 168)
        full = await volunteer(settings, "满了", NEAR, community=world.community, max_active=1)
        await VolunteerProfile.filter(user_id=full.id).update(active_tasks=1)
        task_id = await _help(client, world)
        await run_outbox(settings, bus, due_only=False)
        assert await offered(task_id) == set()


class TestVisibility:
    async def test_a_volunteer_sees_and_accepts_only_what_was_offered_to_them(
        self, client, settings, bus, world
    ):
        a = await volunteer(settings, "甲", NEAR, community=world.community)
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        b = await volunteer(settings, "乙", NEAR, community=world.community)  # registered after the wave
        hb = await auth_headers(settings, b)
        assert (await client.get("/api/v1/tasks/hall", headers=hb)).json() == []
        assert (await client.get(f"/api/v1/tasks/{task_id}", headers=hb)).status_code == 404
        resp = await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hb)
        assert resp.status_code == 404 and resp.json()["error"] == "TaskNotFound"
        ha = await auth_headers(settings, a)
        hall = (await client.get(f"/api/v1/tasks/hall?lat={NEAR[0]}&lng={NEAR[1]}", headers=ha)).json()
        assert (
            [t["id"] for t in hall] == [task_id]
            and hall[0]["distance_m"] < 200
            and hall[0]["address"] is None
        )
        took = await client.post(f"/api/v1/tasks/{task_id}/accept", headers=ha)
        assert took.status_code == 200 and took.json()["address"]  # the holder now sees where to go

    async def test_the_second_accept_is_told_it_was_taken(self, client, settings, bus, world):
        a = await volunteer(settings, "甲", NEAR, community=world.community)
        b = await volunteer(settings, "乙", NEAR, community=world.community)
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        assert (
            await client.post(f"/api/v1/tasks/{task_id}/accept", headers=await auth_headers(settings, a))
        ).status_code == 200
        lost = await client.post(f"/api/v1/tasks/{task_id}/accept", headers=await auth_headers(settings, b))
        assert lost.status_code == 409 and lost.json()["error"] == "TaskAlreadyClaimed"
        assert (await TaskOffer.get(task_id=task_id, volunteer_id=b.id)).status == OfferStatus.WITHDRAWN
        await run_outbox(settings, bus)
        assert await InboxItem.filter(user_id=b.id, kind="tasks.withdrawn").count() == 1

    async def test_a_read_taken_before_the_winner_committed_still_loses_at_the_claim(
        self, client, settings, bus, world
    ):
        """The route answers a loser from its own read when that read already shows the task taken; a read
        taken before the winner's commit still says ``offered``, and the conditional UPDATE refuses it."""
        a = await volunteer(settings, "甲", NEAR, community=world.community)
        b = await volunteer(settings, "乙", NEAR, community=world.community)
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        read_before = await Task.get(id=task_id)
        ha = await auth_headers(settings, a)
        assert (await client.post(f"/api/v1/tasks/{task_id}/accept", headers=ha)).status_code == 200
        with pytest.raises(TaskAlreadyClaimed):
            await service.accept(read_before, b.id)
        assert (await Task.get(id=task_id)).volunteer_id == a.id
        assert await TaskAssignment.filter(task_id=task_id).count() == 1
        assert await TaskEvent.filter(task_id=task_id, action="accept").count() == 1
        again = await client.post(f"/api/v1/tasks/{task_id}/accept", headers=ha)
        assert again.status_code == 409 and again.json()["message"] == "您已接下这个任务"

    async def test_a_volunteer_holds_a_bounded_number_of_tasks(self, client, settings, bus, world):
        a = await volunteer(settings, "甲", NEAR, community=world.community, max_active=1)
        first, second = await _help(client, world), await _help(client, world, "neighbour")
        await run_outbox(settings, bus)
        h = await auth_headers(settings, a)
        assert (await client.post(f"/api/v1/tasks/{first}/accept", headers=h)).status_code == 200
        resp = await client.post(f"/api/v1/tasks/{second}/accept", headers=h)
        assert resp.status_code == 409 and resp.json()["error"] == "TooManyActiveTasks"
        assert (await Task.get(id=second)).status == TaskStatus.OFFERED


class TestFulfilment:
    async def test_delivery_from_accept_to_hours_credited_once(self, client, settings, bus, world):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        hv = await auth_headers(settings, v)
        task_id = await _delivery(client, world)
        await run_outbox(settings, bus)
        steps = [
            (f"/api/v1/tasks/{task_id}/accept", hv, None, "accepted"),
            (f"/api/v1/tasks/{task_id}/pickup", world.headers["staff"], None, "picked_up"),
            (
                f"/api/v1/tasks/{task_id}/deliver",
                hv,
                {"lat": 36.0717, "lng": 103.741, "note": "放门口了"},
                "delivered",
            ),
            (f"/api/v1/tasks/{task_id}/confirm", world.headers["resident"], None, "confirmed"),
        ]
        for path, h, body, status in steps:
            resp = await client.post(path, headers=h, json=body)
            assert resp.status_code == 200 and resp.json()["status"] == status, resp.text
        again = await client.post(f"/api/v1/tasks/{task_id}/confirm", headers=world.headers["resident"])
        assert again.status_code == 409
        earned = await Transfer.filter(kind=TransferKind.EARN_SERVICE, link_id=str(task_id)).count()
        assert earned == 1 and await balance(v.id, Currency.HOUR) >= 30
        order = await Order.get(id=(await Task.get(id=task_id)).order_id)
        assert order.status == "completed"
        rice = await StoreItem.get(id=world.items["rice"].id)
        assert (rice.stock, rice.held) == (18, 0)
        history = (
            await TaskEvent.filter(task_id=task_id).exclude(action="offer").values_list("action", flat=True)
        )
        assert list(history) == ["create", "accept", "pick_up", "deliver", "confirm"]
        assert (await VolunteerProfile.get(user_id=v.id)).active_tasks == 0

    async def test_illegal_steps_are_409(self, client, settings, bus, world):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        hv = await auth_headers(settings, v)
        task_id = await _delivery(client, world)
        await run_outbox(settings, bus)
        assert (
            await client.post(f"/api/v1/tasks/{task_id}/confirm", headers=world.headers["resident"])
        ).status_code == 409
        await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hv)
        skip = await client.post(
            f"/api/v1/tasks/{task_id}/deliver", headers=hv, json={"lat": 36.07, "lng": 103.74}
        )
        assert skip.status_code == 409 and skip.json()["error"] == "InvalidTransition"

    async def test_dropping_returns_the_task_to_matching_without_the_dropper(
        self, client, settings, bus, world
    ):
        a = await volunteer(settings, "甲", NEAR, community=world.community)
        b = await volunteer(settings, "乙", NEAR, community=world.community)
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        ha = await auth_headers(settings, a)
        await client.post(f"/api/v1/tasks/{task_id}/accept", headers=ha)
        dropped = await client.post(f"/api/v1/tasks/{task_id}/drop", headers=ha, json={"reason": "临时有事"})
        assert dropped.status_code == 200 and dropped.json()["status"] == "offered"
        assert (await VolunteerProfile.get(user_id=a.id)).active_tasks == 0
        await run_outbox(settings, bus)
        assert await offered(task_id) == {b.id}
        assert (await Task.get(id=task_id)).round == 1
        hb = await auth_headers(settings, b)
        assert (await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hb)).status_code == 200

    async def test_a_grid_worker_confirms_for_a_resident_without_a_phone(self, client, settings, bus, world):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        hv = await auth_headers(settings, v)
        task_id = await _help(client, world)
        await run_outbox(settings, bus)
        await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hv)
        await client.post(f"/api/v1/tasks/{task_id}/deliver", headers=hv, json={"lat": 36.07, "lng": 103.74})
        other = await client.post(
            f"/api/v1/tasks/{task_id}/confirm", headers=world.headers["grid_worker_other"]
        )
        assert other.status_code == 404
        resp = await client.post(f"/api/v1/tasks/{task_id}/confirm", headers=world.headers["grid_worker"])
        assert resp.status_code == 200 and resp.json()["status"] == "confirmed"
        event = await TaskEvent.get(task_id=task_id, action="confirm")
        assert (event.actor_id, event.on_behalf_of_id) == (world["grid_worker"].id, world["resident"].id)

    async def test_cancelling_an_accepted_delivery_restores_stock_points_and_the_volunteer(
        self, client, settings, bus, world
    ):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        task_id = await _delivery(client, world)
        await run_outbox(settings, bus)
        await client.post(f"/api/v1/tasks/{task_id}/accept", headers=await auth_headers(settings, v))
        resp = await client.post(
            f"/api/v1/tasks/{task_id}/cancel", headers=world.headers["family"], json={"reason": "已自行购买"}
        )
        assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
        rice = await StoreItem.get(id=world.items["rice"].id)
        assert (rice.stock, rice.held) == (20, 0)
        assert await balance(world["resident"].id) == 100
        assert (await VolunteerProfile.get(user_id=v.id)).active_tasks == 0
        assert await InboxItem.filter(user_id=v.id, kind="tasks.cancelled").count() == 1

    async def test_late_tasks_are_listed(self, client, settings, bus, world):
        from datetime import timedelta

        from backend.core.timeutil import utcnow

        task_id = await _help(client, world)
        await Task.filter(id=task_id).update(due_at=utcnow() - timedelta(minutes=1))
        late = await client.get("/api/v1/tasks?late=true", headers=world.headers["grid_worker"])
        assert [t["id"] for t in late.json()["items"]] == [task_id] and late.json()["items"][0]["is_late"]

    async def test_staff_raise_a_task_for_every_elderly_household_at_once(self, client, settings, bus, world):
        resp = await client.post(
            "/api/v1/tasks/batch",
            headers=world.headers["staff"],
            json={
                "unit_id": world.community.id,
                "help_kind": "supplies",
                "title": "封控期间送物资",
                "only": ["is_elderly"],
            },
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["created"] == 2  # the builder marks one household per grid elderly
        assert await Task.filter(batch_key=resp.json()["batch_key"]).count() == 2
        outside = await client.post(
            "/api/v1/tasks/batch",
            headers=world.headers["staff_other"],
            json={"unit_id": world.community.id, "help_kind": "supplies"},
        )
        assert outside.status_code == 404
