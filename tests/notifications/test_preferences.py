"""Muted kinds and quiet hours make items silent (no push, no WeChat); urgent items ignore both; a daily job
summarises what was kept quiet in one inbox item."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.db import atomic
from backend.core.timeutil import to_local, utcnow
from backend.models.notifications import InboxItem, Urgency, WechatDelivery
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.notifications.service import in_quiet_hours, notify, send_digests
from backend.outbox import registry
from backend.outbox import service as outbox
from tests.builders import auth_headers
from tests.notifications.conftest import drain, make_wechat_user


@pytest.fixture
async def alice(settings):  # type: ignore[no-untyped-def]
    user = await make_wechat_user(None)
    return user, await auth_headers(settings, user)


def _clock(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TestPreferencesApi:
    async def test_set_and_read_back(self, client, alice):
        _, headers = alice
        body = {"muted_kinds": ["announcement", "report.progress"], "quiet_hours": {"start": "22:00", "end": "07:00"}}
        resp = await client.put("/api/v1/notifications/preferences", json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        got = (await client.get("/api/v1/notifications/preferences", headers=headers)).json()
        assert got["muted_kinds"] == ["announcement", "report.progress"]
        assert got["quiet_hours"] == {"start": "22:00", "end": "07:00"}
        assert {"kind": "announcement", "label": "社区通知"} in got["kinds"]
        cleared = await client.put("/api/v1/notifications/preferences", json={"muted_kinds": []}, headers=headers)
        assert cleared.json()["quiet_hours"] is None and cleared.json()["muted_kinds"] == []

    @pytest.mark.parametrize("body", [
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"quiet_hours": {"start": "24:00", "end": "07:00"}},
        {"quiet_hours": {"start": "22:00"}},
        {"muted_kinds": ["Not A Kind"]},
        {"muted_kinds": ["a"] * 51},
        {"mute": ["announcement"]},
    ])
    async def test_bad_preferences_are_422(self, client, alice, body):
        _, headers = alice
        resp = await client.put("/api/v1/notifications/preferences", json=body, headers=headers)
        assert resp.status_code == 422 and resp.json()["error"] == "ValidationFailed", resp.text

    def test_quiet_hours_wrap_midnight(self):
        assert in_quiet_hours(22 * 60, 7 * 60, 23 * 60) and in_quiet_hours(22 * 60, 7 * 60, 6 * 60 + 59)
        assert not in_quiet_hours(22 * 60, 7 * 60, 7 * 60) and not in_quiet_hours(22 * 60, 7 * 60, 12 * 60)
        assert in_quiet_hours(13 * 60, 14 * 60, 13 * 60 + 30) and not in_quiet_hours(13 * 60, 14 * 60, 14 * 60)


class TestSilence:
    async def test_a_muted_kind_is_silent_without_a_wechat_leg_but_urgent_items_still_interrupt(self, client, alice):
        user, headers = alice
        await client.put("/api/v1/notifications/preferences", json={"muted_kinds": ["announcement"]}, headers=headers)
        quiet = await notify([user], "announcement", {"title": "社区活动", "unit_name": "一号楼"})
        loud = await notify([user], "announcement", {"title": "燃气泄漏", "unit_name": "一号楼"}, urgency=Urgency.URGENT)
        other = await notify([user], "test.alert", {"title": "别的类型", "state": "待处理"})
        assert (await InboxItem.get(id=quiet.items[user.id])).silent is True
        assert (await InboxItem.get(id=loud.items[user.id])).silent is False
        assert (await InboxItem.get(id=other.items[user.id])).silent is False
        assert not await WechatDelivery.exists(item_id=quiet.items[user.id])
        assert await WechatDelivery.exists(item_id=loud.items[user.id])
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()
        assert [i["silent"] for i in listed["items"]] == [False, False, True]  # still in the inbox, flagged

    async def test_quiet_hours_around_now_make_normal_items_silent(self, client, alice):
        user, headers = alice
        now = to_local(utcnow())
        minute = now.hour * 60 + now.minute
        quiet = {"start": _clock(minute - 30), "end": _clock(minute + 30)}
        await client.put("/api/v1/notifications/preferences", json={"quiet_hours": quiet}, headers=headers)
        done = await notify([user], "test.alert", {"title": "夜里来的", "state": "待处理"})
        assert (await InboxItem.get(id=done.items[user.id])).silent is True
        await client.put("/api/v1/notifications/preferences",
                         json={"quiet_hours": {"start": _clock(minute + 60), "end": _clock(minute + 120)}},
                         headers=headers)
        done = await notify([user], "test.alert", {"title": "白天来的", "state": "待处理"})
        assert (await InboxItem.get(id=done.items[user.id])).silent is False


class TestDigest:
    async def test_one_digest_per_user_summarising_silent_items_once(self, client, alice):
        user, headers = alice
        await client.put("/api/v1/notifications/preferences", json={"muted_kinds": ["test.info"]}, headers=headers)
        for i in range(7):
            await notify([user], "test.info", {"title": f"活动{i}"})
        await notify([user], "test.other", {"title": "不被屏蔽的"})
        assert await send_digests(utcnow() + timedelta(seconds=1)) == 1
        assert await send_digests(utcnow() + timedelta(seconds=1)) == 0  # nothing left to summarise
        digest = await InboxItem.get(user_id=user.id, kind="digest").select_related("event")
        assert digest.silent is False
        assert digest.event.title == "免打扰期间有 7 条通知"
        assert "活动0" in digest.event.body and "等 7 条" in digest.event.body
        summarised = await InboxItem.filter(user_id=user.id, digest_id=digest.id).count()
        assert summarised == 7

    async def test_the_daily_job_is_registered_and_runs_through_the_outbox(self, settings, bus, alice):
        user, _ = alice
        job = next(j for j in registry.periodic_jobs() if j.kind == "notifications.digest")
        assert job.every == timedelta(days=1)
        quiet = to_local(utcnow())
        await InboxItem.all().delete()
        async with atomic():
            from backend.models.notifications import NotificationPreference

            await NotificationPreference.create(user=user, muted_kinds=["test.info"])
            await notify([user], "test.info", {"title": f"{quiet:%H:%M} 的活动"})
            await outbox.enqueue("notifications.digest", {"slot": (utcnow() + timedelta(minutes=1)).isoformat()})
        await drain(settings, bus)
        event = await OutboxEvent.get(kind="notifications.digest")
        assert event.status == OutboxStatus.DONE, event.last_error
        assert await InboxItem.filter(user_id=user.id, kind="digest").count() == 1
