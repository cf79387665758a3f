"""/api/v1/ws against a real uvicorn server: authentication, resume with exactly the missed items in order,
live hints deduplicated by id, the 5-socket limit, the heartbeat, and a bus outage that delays but never loses."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import InvalidStatus

from backend.core.bus import get_bus, make_bus, set_bus
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.auth import AuthSession
from backend.models.notifications import InboxItem
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.notifications import fanout
from backend.notifications.service import notify
from tests.builders import make_user
from tests.notifications.conftest import access_token, drain, open_socket


async def _notify(user, n: int, start: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(start, start + n):
        async with atomic():
            done = await notify([user], "test.info", {"title": f"通知{i}"})
        ids.append(done.items[user.id])
    return ids


@pytest.fixture
async def alice(settings):  # type: ignore[no-untyped-def]
    user = await make_user(name="王秀英")
    return user, await access_token(settings, user)


class TestAuthentication:
    async def test_the_token_in_the_subprotocol_header(self, ws_server, alice):
        user, token = alice
        client = await open_socket(ws_server.url, token)
        assert client.conn.subprotocol == "jinlin.v1"
        assert client.frames[0]["type"] == "hello" and client.frames[0]["user_id"] == user.id
        await client.close()

    async def test_the_token_in_a_first_message(self, ws_server, alice):
        user, token = alice
        client = await open_socket(ws_server.url, token, via="message")
        assert client.frames[0]["user_id"] == user.id
        await client.close()

    @pytest.mark.parametrize(("how", "code"), [("url", 4400), ("garbage", 4401), ("no-auth", 4401)])
    async def test_refused(self, ws_server, alice, how, code):
        _, token = alice
        if how == "url":
            client = await open_socket(ws_server.url, None, path=f"/api/v1/ws?token={token}")
        elif how == "garbage":
            client = await open_socket(ws_server.url, None)
            await client.send(type="auth", token="not-a-token")
        else:
            client = await open_socket(ws_server.url, None)
            await client.send(type="resume", after=0)
        assert await client.wait_closed() == code
        assert not any(f["type"] == "hello" for f in client.frames)

    async def test_a_logged_out_session_is_closed_at_the_next_heartbeat(self, ws_server, alice):
        _, token = alice
        client = await open_socket(ws_server.url, token)
        await AuthSession.all().update(revoked_at=utcnow(), revoked_reason="logout")
        assert await client.wait_closed(timeout=5) == 4401


class TestHeartbeat:
    async def test_each_period_beats_every_socket_once_in_shares(self, ws_server, settings):
        """The heartbeat is spread over the period: its shares partition the sockets, so every socket is
        pinged exactly once per period and no tick pings them all."""
        clients = []
        for i in range(12):
            user = await make_user(name=f"居民{i}")
            clients.append(await open_socket(ws_server.url, await access_token(settings, user)))
        hub = await fanout.hub_of(ws_server.app)
        pinged: dict[str, int] = {}
        me = asyncio.current_task()

        def counting(conn):  # type: ignore[no-untyped-def]
            real = conn.ping

            def ping() -> None:  # counts the pings of this test's beats, not those of the running heartbeat
                if asyncio.current_task() is me:
                    pinged[conn.sid] = pinged.get(conn.sid, 0) + 1
                real()
            return ping

        for conn in hub.all_conns():
            conn.ping = counting(conn)  # type: ignore[method-assign]
        sizes = []
        for share in range(fanout.HEARTBEAT_SLICES):
            before = sum(pinged.values())
            await hub.beat_slice(share, fanout.HEARTBEAT_SLICES)
            sizes.append(sum(pinged.values()) - before)
        assert len(hub.all_conns()) == 12
        assert pinged == {c.sid: 1 for c in hub.all_conns()}
        assert max(sizes) < 12
        await hub.beat_once()
        assert pinged == {c.sid: 2 for c in hub.all_conns()}
        for client in clients:
            await client.close()


class TestResume:
    async def test_resume_gives_exactly_the_missed_items_in_order(self, ws_server, alice, settings, bus):
        user, token = alice
        first = await _notify(user, 3)
        client = await open_socket(ws_server.url, token)
        await client.resume(0)
        assert client.ids == first
        await client.close()

        missed = await _notify(user, 5, start=3)
        await drain(settings, bus)  # their hints went out while nobody listened
        again = await open_socket(ws_server.url, token)
        await again.resume(first[-1])
        assert again.ids == missed
        live = await _notify(user, 2, start=8)
        await drain(settings, bus)
        await again.until(lambda: len(again.ids) == 7)
        await asyncio.sleep(0.2)
        assert again.ids == missed + live
        await again.close()

    async def test_resume_from_now_skips_the_past(self, ws_server, alice, settings, bus):
        user, token = alice
        await _notify(user, 2)
        client = await open_socket(ws_server.url, token)
        await client.resume(None)
        assert client.ids == []
        new = await _notify(user, 1, start=2)
        await drain(settings, bus)
        await client.until(lambda: client.ids == new)
        await client.close()

    async def test_live_hints_racing_the_replay_arrive_once_and_in_order(self, ws_server, alice, settings, bus):
        user, token = alice
        backlog = await _notify(user, 60)
        client = await open_socket(ws_server.url, token)

        async def produce() -> list[int]:
            made = []
            for i in range(30):
                made += await _notify(user, 1, start=100 + i)
                await drain(settings, bus, rounds=2)
            return made

        producer = asyncio.create_task(produce())
        await client.send(type="resume", after=0)
        live = await producer
        await client.until(lambda: len(client.ids) >= 90, timeout=20)
        await drain(settings, bus)
        await asyncio.sleep(0.3)
        assert client.ids == backlog + live  # each once, oldest first
        await client.close()

    async def test_a_repeated_push_is_dropped_and_a_gap_is_filled_from_the_database(self, ws_server, alice, settings, bus):
        user, token = alice
        client = await open_socket(ws_server.url, token)
        await client.resume(None)
        ids = await _notify(user, 3)
        await drain(settings, bus)
        await client.until(lambda: client.ids == ids)
        # the outbox runs a push again (a worker died before marking it done): the same hints, dropped
        await OutboxEvent.filter(kind="notifications.push").update(status=OutboxStatus.PENDING, run_at=utcnow())
        await drain(settings, bus)
        # a hint overtakes another one (published alone): the socket reads the skipped item first
        skipped, latest = await _notify(user, 2, start=3)
        await OutboxEvent.filter(kind="notifications.push", status=OutboxStatus.PENDING).update(status=OutboxStatus.DONE)
        item = await InboxItem.get(id=latest).select_related("event")
        await fanout.publish_many(bus, [(fanout.channel(user.id), fanout.frame(item, prev=skipped))])
        await client.until(lambda: len(client.ids) == 5)
        await asyncio.sleep(0.2)
        assert client.ids == ids + [skipped, latest]
        await client.close()

    async def test_bad_messages_get_an_error_frame_and_the_socket_stays(self, ws_server, alice):
        _, token = alice
        client = await open_socket(ws_server.url, token)
        for bad in ["not json", json.dumps([1]), json.dumps({"type": "resume", "after": "yesterday"}),
                    json.dumps({"type": "dance"})]:
            await client.conn.send(bad)
        await client.until(lambda: sum(f["type"] == "error" for f in client.frames) == 4)
        await client.resume(0)
        assert not client.closed
        await client.close()


class TestLimitsAndHeartbeat:
    async def test_a_sixth_socket_closes_the_first(self, ws_server, alice):
        _, token = alice
        clients = [await open_socket(ws_server.url, token) for _ in range(5)]
        sixth = await open_socket(ws_server.url, token)
        assert await clients[0].wait_closed() == 4409
        await asyncio.sleep(0.3)
        assert [c.closed for c in clients[1:]] == [False] * 4 and not sixth.closed
        for c in clients[1:] + [sixth]:
            await c.close()

    async def test_a_socket_that_stops_answering_is_closed_and_a_live_one_is_not(self, ws_server, alice):
        _, token = alice
        silent = await open_socket(ws_server.url, token, answer_pings=False)
        lively = await open_socket(ws_server.url, token)
        assert await silent.wait_closed(timeout=5) == 4408
        assert sum(f["type"] == "ping" for f in lively.frames) >= 3 and not lively.closed
        await lively.close()


class TestBusOutage:
    async def test_hints_wait_in_the_outbox_while_the_bus_is_down(self, ws_server, alice, settings, bus):
        user, token = alice
        client = await open_socket(ws_server.url, token)
        await client.resume(None)
        broken = make_bus("redis://127.0.0.1:1/0")  # nothing listens there: every publish fails
        set_bus(broken)
        try:
            ids = await _notify(user, 1)  # the request that caused it does not fail
            await drain(settings, broken, rounds=1)
            push = await OutboxEvent.get(kind="notifications.push")
            assert push.status == OutboxStatus.PENDING and push.last_error
        finally:
            set_bus(bus)
            await broken.close()
        assert get_bus() is bus
        await drain(settings, bus)
        await client.until(lambda: client.ids == ids)
        await client.close()


async def test_http_only_clients_are_refused_by_the_socket_route(ws_server):
    with pytest.raises(InvalidStatus):
        from websockets.asyncio.client import connect

        async with connect(ws_server.url + "/api/v1/nowhere", proxy=None):
            pass
