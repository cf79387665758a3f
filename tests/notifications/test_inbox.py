"""The inbox is the truth: notify writes it in the caller's transaction; people list, count and mark their items."""

from __future__ import annotations

import asyncio

import pytest

from backend.core.db import atomic
from backend.models.notifications import InboxItem, NotificationEvent, Urgency, WechatDelivery
from backend.models.outbox import OutboxEvent
from backend.models.user import Role
from backend.notifications.service import notify
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def people(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1)
    alice = await make_user(Role.RESIDENT, household=tree.household(0, 0, 0), name="王秀英")
    bob = await make_user(Role.RESIDENT, household=tree.household(0, 0, 1), name="李建国")
    return alice, bob, await auth_headers(settings, alice), await auth_headers(settings, bob)


class TestNotify:
    async def test_one_row_per_recipient_and_the_outbox_events_in_the_same_transaction(self, people):
        alice, bob, *_ = people
        async with atomic():
            done = await notify([alice, bob.id, alice.id], "test.info", {"title": "停水通知", "body": "明天 9 点停水"})
        assert done is not None and set(done.items) == {alice.id, bob.id}
        assert await InboxItem.filter(event_id=done.event_id).count() == 2
        assert await OutboxEvent.filter(kind="notifications.push", payload={"event_id": done.event_id}).count() == 1

    async def test_nothing_is_written_when_the_callers_transaction_rolls_back(self, people):
        alice, *_ = people
        with pytest.raises(RuntimeError):
            async with atomic():
                await notify([alice], "test.info", {"title": "不会出现"}, urgency=Urgency.URGENT)
                raise RuntimeError("the caller's write failed")
        assert await NotificationEvent.all().count() == 0
        assert await InboxItem.all().count() == 0
        assert await WechatDelivery.all().count() == 0
        assert await OutboxEvent.filter(kind__startswith="notifications.").count() == 0

    async def test_a_dedupe_key_notifies_once(self, people):
        alice, *_ = people
        first = await notify([alice], "test.info", {"title": "一次"}, dedupe_key="report:1:created")
        again = await notify([alice], "test.info", {"title": "一次"}, dedupe_key="report:1:created")
        assert first is not None and again is None
        assert await InboxItem.filter(user_id=alice.id).count() == 1

    async def test_inactive_users_are_skipped_and_bad_input_is_refused(self, people):
        alice, bob, *_ = people
        bob.is_active = False
        await bob.save()
        done = await notify([alice, bob], "test.info", {"title": "你好"})
        assert done is not None and list(done.items) == [alice.id]
        for kind, payload in [("Bad Kind", {"title": "x"}), ("test.info", {"title": ""}),
                              ("test.info", {"title": "x", "link": "javascript:alert(1)"})]:
            with pytest.raises(ValueError):
                await notify([alice], kind, payload)

    async def test_concurrent_notifications_each_write_one_row_per_recipient_and_none_is_lost(self, people):
        alice, bob = people[:2]

        async def one(i: int) -> int:
            async with atomic():
                done = await notify([alice, bob], "test.info", {"title": f"第{i}条"})
            return done.event_id

        events = await asyncio.gather(*(one(i) for i in range(20)))
        for user in (alice, bob):
            rows = await InboxItem.filter(user_id=user.id).order_by("id").values_list("event_id", flat=True)
            assert sorted(rows) == sorted(events)  # each event once, none lost, none doubled
        assert await OutboxEvent.filter(kind="notifications.push").count() == 20

    async def test_wechat_legs_and_their_outbox_rows_come_with_the_items(self, people):
        alice, bob = people[:2]
        bob.is_active = False
        await bob.save()
        async with atomic():
            done = await notify([alice, bob], "test.info", {"title": "燃气泄漏"}, urgency=Urgency.URGENT)
        legs = await WechatDelivery.filter(item_id__in=list(done.items.values()))
        assert [(d.user_id, d.status, d.urgency) for d in legs] == [(alice.id, "pending", Urgency.URGENT)]
        sends = await OutboxEvent.filter(kind="notifications.wechat")
        assert [e.payload for e in sends] == [{"delivery_id": legs[0].id}]
        quiet = await notify([alice], "test.info", {"title": "普通通知，没有模板"})
        assert not await WechatDelivery.filter(item_id=quiet.items[alice.id]).exists()


class TestInboxApi:
    async def test_list_newest_first_with_cursor_and_unread_count(self, client, people):
        alice, bob, headers, _ = people
        for i in range(5):
            await notify([alice], "test.info", {"title": f"通知{i}", "link": "pages/reports/detail?id=7", "report_id": 7})
        await notify([bob], "test.info", {"title": "别人的"})
        first = (await client.get("/api/v1/notifications", params={"limit": 3}, headers=headers)).json()
        assert [i["title"] for i in first["items"]] == ["通知4", "通知3", "通知2"]
        assert first["unread"] == 5 and first["next_cursor"]
        assert first["items"][0]["data"] == {"report_id": 7}
        assert first["items"][0]["link"] == "pages/reports/detail?id=7"
        second = (await client.get("/api/v1/notifications", params={"limit": 3, "cursor": first["next_cursor"]},
                                   headers=headers)).json()
        assert [i["title"] for i in second["items"]] == ["通知1", "通知0"] and second["next_cursor"] is None

    async def test_mark_one_then_all_read(self, client, people):
        alice, _, headers, _ = people
        for i in range(3):
            await notify([alice], "test.info", {"title": f"通知{i}"}, urgency=Urgency.URGENT if i == 2 else "normal")
        items = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
        assert (await client.get("/api/v1/notifications/unread-count", headers=headers)).json() == {
            "unread": 3, "urgent_unread": 1}
        read = await client.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=headers)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        again = await client.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=headers)
        assert again.json()["read_at"] == read.json()["read_at"]  # the first reading time is kept
        resp = await client.post("/api/v1/notifications/read-all", json={"up_to": items[1]["id"]}, headers=headers)
        assert resp.json() == {"updated": 2}  # items[1] and the older items[2]; items[0] was read already
        assert (await client.get("/api/v1/notifications", params={"unread": True}, headers=headers)).json()["items"] == []

    async def test_read_all_up_to_leaves_newer_items_unread(self, client, people):
        alice, _, headers, _ = people
        await notify([alice], "test.info", {"title": "旧"})
        top = (await client.get("/api/v1/notifications", headers=headers)).json()["items"][0]["id"]
        await notify([alice], "test.info", {"title": "看列表之后才来的"})
        assert (await client.post("/api/v1/notifications/read-all", json={"up_to": top}, headers=headers)).json() == {
            "updated": 1}
        unread = (await client.get("/api/v1/notifications", params={"unread": True}, headers=headers)).json()
        assert [i["title"] for i in unread["items"]] == ["看列表之后才来的"]

    async def test_someone_elses_item_is_not_found(self, client, people):
        alice, bob, _, bob_headers = people
        done = await notify([alice], "test.info", {"title": "私人"})
        item_id = done.items[alice.id]
        for method, path in [("GET", f"/api/v1/notifications/{item_id}"),
                             ("POST", f"/api/v1/notifications/{item_id}/read")]:
            resp = await client.request(method, path, headers=bob_headers)
            assert resp.status_code == 404 and resp.json()["error"] == "NotificationNotFound"
        assert (await InboxItem.get(id=item_id)).read_at is None

    async def test_anonymous_callers_get_401(self, client):
        for path in ["/api/v1/notifications", "/api/v1/notifications/unread-count", "/api/v1/notifications/1"]:
            resp = await client.get(path)
            assert resp.status_code == 401 and resp.json()["error"] == "Unauthorized"
