"""Real processes: workers killed at the worst moments, and two API processes sharing one Redis.

- A worker SIGKILLed after it published the hints and WeChat accepted the message, but before the outbox
  marked the events done: another worker runs them again; the inbox holds the item once, the socket shows it
  once, WeChat got one message, one consent was spent.
- A worker SIGKILLed between WeChat accepting a message and recording it: the retry does not send again.
- Two uvicorn processes: an event created through the API of one reaches a socket held by the other, and a
  sixth socket on one closes the user's first socket on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx
import pytest

from backend.core.bus import make_bus
from backend.core.db import atomic
from backend.models.audit import AuditLog
from backend.models.notifications import DeliveryStatus, InboxItem, Urgency, WechatConsent, WechatDelivery
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role
from backend.notifications.service import notify
from tests.builders import auth_headers, make_org_tree, make_user
from tests.conftest import REDIS_URL
from tests.notifications.conftest import (
    ANNOUNCE_TEMPLATE,
    access_token,
    drain,
    grant_consents,
    live_env,
    make_wechat_user,
    open_socket,
    serve_app,
    spawn,
    start_api,
    stop,
    wait_for,
)

pytestmark = pytest.mark.live
KINDS = ["notifications.push", "notifications.wechat"]


async def _count(action: str) -> int:
    return await AuditLog.filter(action=action).count()


async def _forget_sockets(bus, *user_ids: int) -> None:  # type: ignore[no-untyped-def]
    if REDIS_URL:
        with contextlib.suppress(Exception):
            await bus.redis.delete(*[f"{bus.prefix}ws:u:{u}" for u in user_ids])


class TestWorkerDeath:
    async def test_killed_after_its_work_but_before_done_the_item_arrives_once_everywhere(
        self, database, nsettings, bus, fake_wechat
    ):
        user = await make_wechat_user()
        await grant_consents(user, ANNOUNCE_TEMPLATE, 2)  # a second consent a careless retry could spend
        token = await access_token(nsettings, user)
        # Worker subprocesses publish on the default bus prefix: listen there (Redis), or replay afterwards.
        hub_bus = make_bus(REDIS_URL) if REDIS_URL else bus
        try:
            async with serve_app(nsettings, hub_bus) as server:
                live = await open_socket(server.url, token) if REDIS_URL else None
                if live is not None:
                    await live.resume(None)
                async with atomic():
                    done = await notify([user], "announcement", {"title": "燃气检修", "unit_name": "1号楼"},
                                        urgency=Urgency.URGENT)
                item_id = done.items[user.id]

                env = live_env(database.url, fake_wechat.base_url, JINLIN_OUTBOX_LEASE_SECONDS="1",
                               JINLIN_TEST_HANG_AFTER="notifications.push,notifications.wechat")
                doomed = spawn(["-m", "tests.notifications.worker_main"], env)
                try:
                    await wait_for(lambda: _count_is("test:handled", 2), what="both handlers done")
                    assert await OutboxEvent.filter(kind__in=KINDS, status=OutboxStatus.RUNNING).count() == 2
                    assert len(fake_wechat.sent) == 1
                    if live is not None:
                        await live.until(lambda: live.ids == [item_id])
                    doomed.send_signal(signal.SIGKILL)
                    calls_at_kill = fake_wechat.calls["subscribe_send"]
                finally:
                    stop(doomed, kill=True)

                survivor = spawn(["-m", "tests.notifications.worker_main"],
                                 live_env(database.url, fake_wechat.base_url, JINLIN_OUTBOX_LEASE_SECONDS="5"))
                try:
                    await wait_for(lambda: _all_done(2), what="the events run again and done")
                finally:
                    stop(survivor)

                events = await OutboxEvent.filter(kind__in=KINDS).order_by("id")
                assert sorted((e.kind, e.attempts) for e in events) == [
                    ("notifications.push", 2), ("notifications.wechat", 2)]
                assert await InboxItem.filter(user_id=user.id).count() == 1
                assert len(fake_wechat.sent) == 1 and fake_wechat.calls["subscribe_send"] == calls_at_kill
                assert await WechatConsent.filter(user=user, spent_at__isnull=False).count() == 1
                assert (await WechatDelivery.get(item_id=item_id)).status == DeliveryStatus.SENT
                if live is not None:
                    await asyncio.sleep(0.5)  # the second run's hint has arrived by now…
                    assert live.ids == [item_id]  # …and was dropped
                    await live.close()
                fresh = await open_socket(server.url, token)
                await fresh.resume(0)
                assert fresh.ids == [item_id]
                await fresh.close()
        finally:
            await _forget_sockets(hub_bus, user.id)
            if hub_bus is not bus:
                await hub_bus.close()

    async def test_killed_between_wechat_accepting_and_recording_never_sends_twice(
        self, client, database, settings, nsettings, bus, fake_wechat
    ):
        tree = await make_org_tree(communities=1, grids=1)
        user = await make_wechat_user(Role.RESIDENT, household=tree.household(0, 0, 0))
        staff = await make_user(Role.GRID_WORKER, tree.grid(0, 0))
        await grant_consents(user, ANNOUNCE_TEMPLATE, 2)
        async with atomic():
            done = await notify([user], "announcement", {"title": "暴雨预警", "unit_name": "社区"},
                                urgency=Urgency.URGENT)
        env = live_env(database.url, fake_wechat.base_url, JINLIN_OUTBOX_LEASE_SECONDS="1",
                       JINLIN_TEST_HANG_AFTER_SEND="1")
        doomed = spawn(["-m", "tests.notifications.worker_main"], env)
        try:
            await wait_for(lambda: _count_is("test:sent", 1), what="WeChat accepted the message")
            delivery = await WechatDelivery.get(item_id=done.items[user.id])
            assert delivery.status == DeliveryStatus.SENDING and len(fake_wechat.sent) == 1
            calls_at_kill = fake_wechat.calls["subscribe_send"]
        finally:
            stop(doomed, kill=True)
        await asyncio.sleep(1.2)  # the lease runs out
        await drain(settings, bus)
        await delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.UNCERTAIN
        assert len(fake_wechat.sent) == 1 and fake_wechat.calls["subscribe_send"] == calls_at_kill
        assert await WechatConsent.filter(user=user, spent_at__isnull=False).count() == 1
        wechat_event = await OutboxEvent.get(kind="notifications.wechat")
        assert wechat_event.status == OutboxStatus.DONE and wechat_event.attempts == 2
        view = (await client.get("/api/v1/notifications/unreachable",
                                 headers=await auth_headers(settings, staff))).json()
        assert [(r["item_id"], r["status"]) for r in view["items"]] == [(done.items[user.id], "uncertain")]


async def _count_is(action: str, n: int) -> bool:
    return await _count(action) >= n


async def _all_done(n: int) -> bool:
    return await OutboxEvent.filter(kind__in=KINDS, status=OutboxStatus.DONE).count() >= n


class TestTwoApiProcesses:
    async def test_an_event_created_on_one_process_reaches_a_socket_on_the_other(
        self, database, settings, bus, fake_wechat
    ):
        if not REDIS_URL:
            pytest.skip("JINLIN_TEST_REDIS_URL is not set: fan-out across API processes needs Redis")
        tree = await make_org_tree(communities=1, grids=1, households=3)
        staff = await make_user(Role.COMMUNITY_STAFF, tree.community(0), name="社区干部")
        residents = [await make_user(Role.RESIDENT, household=h, name=f"居民{i}")
                     for i, h in enumerate(tree.communities[0].households[tree.grid(0, 0).id])]
        default_bus = make_bus(REDIS_URL)
        env = live_env(database.url, fake_wechat.base_url)
        a, b = await start_api(env), await start_api(env)
        worker = spawn(["-m", "backend.cli", "worker"], env)
        sockets = []
        try:
            token = await access_token(settings, residents[0])
            on_b = await open_socket(b.ws, token)
            sockets.append(on_b)
            await on_b.resume(None)
            async with httpx.AsyncClient(base_url=a.http) as http:
                resp = await http.post("/api/v1/notifications/announcements", headers=await auth_headers(settings, staff),
                                       json={"unit_id": tree.building(0, 0, 0).id, "audience": "residents",
                                             "title": "周六上午社区义诊", "body": "地点：社区服务中心"})
            assert resp.status_code == 201, resp.text
            assert resp.json()["recipients"] == 3
            await on_b.until(lambda: len(on_b.items) == 1, timeout=15, what="the item on the other process")
            assert on_b.items[0]["item"]["title"] == "周六上午社区义诊"

            # The limit holds across processes: five more sockets, mostly on A, close the first one on B.
            for server in (a, a, b, a, a):
                sockets.append(await open_socket(server.ws, token))
            assert await on_b.wait_closed(timeout=10) == 4409
            await asyncio.sleep(0.3)
            assert [s.closed for s in sockets[1:]] == [False] * 5
        finally:
            for s in sockets:
                with contextlib.suppress(Exception):
                    await s.close()
            stop(worker)
            stop(a.proc)
            stop(b.proc)
            await _forget_sockets(default_bus, *(r.id for r in residents))
            await default_bus.close()
