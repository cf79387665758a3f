"""notify() takes no row locks, and the inbox horizon keeps every reader in order (docs/adr/0020).

- Writers never wait for each other: a transaction that notified someone and is still open does not hold up a
  second notice to the same person; the deadlock of the old per-user locks (two transactions notifying
  overlapping people in opposite orders) cannot happen.
- Ids can commit out of order, but nothing at or below the horizon ever changes: a later id that committed
  first stays above the horizon until the older writer commits or rolls back. A randomised run of writers
  (some slow, some rolling back) against a reader that records what it saw below the horizon proves it.
- Sockets and the HTTP list only ever show ids at or below it: an item that overtook an open one is held back
  and then arrives after it, in id order, whether through a live hint or through a resume.

The interesting cases need two writers at once; SQLite admits one writer at a time (ids already grow in commit
order there), so those tests run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from backend.core.db import atomic
from backend.core.timeutil import to_local, utcnow
from backend.models.notifications import InboxItem, NotificationPreference, Urgency
from backend.models.user import Role
from backend.notifications import hotpath
from backend.notifications.service import is_silent, notify
from backend.outbox.worker import Worker
from tests.builders import auth_headers, make_org_tree, make_user
from tests.conftest import PG_URL
from tests.notifications.conftest import access_token, open_socket

postgres_only = pytest.mark.skipif(not PG_URL, reason="two concurrent writers need PostgreSQL (SQLite has one writer)")


@pytest.fixture
async def people(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1)
    alice = await make_user(Role.RESIDENT, household=tree.household(0, 0, 0), name="王秀英")
    bob = await make_user(Role.RESIDENT, household=tree.household(0, 0, 1), name="李建国")
    return alice, bob


class OpenWriter:
    """A transaction that notifies and then stays open until told to commit (or roll back)."""

    def __init__(self, users, title: str) -> None:  # type: ignore[no-untyped-def]
        self.users, self.title = users, title
        self.written = asyncio.Event()
        self.release = asyncio.Event()
        self.rollback = False
        self.ids: dict[int, int] = {}
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        try:
            async with atomic():
                done = await notify(self.users, "test.info", {"title": self.title})
                assert done is not None
                self.ids = done.items
                self.written.set()
                await self.release.wait()
                if self.rollback:
                    raise _RolledBack()
        except _RolledBack:
            pass

    async def start(self) -> OpenWriter:
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.written.wait(), timeout=5)
        return self

    async def finish(self, *, rollback: bool = False) -> None:
        self.rollback = rollback
        self.release.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)


class _RolledBack(Exception):
    pass


async def _committed(user, title: str) -> int:  # type: ignore[no-untyped-def]
    async with atomic():
        done = await notify([user], "test.info", {"title": title})
    return done.items[user.id]


# ------------------------------------------------------------------------------------------------ writers


@postgres_only
class TestNoLocks:
    async def test_a_second_notice_to_the_same_person_does_not_wait_for_an_open_transaction(self, people):
        alice, bob = people
        first = await OpenWriter([alice, bob], "先写的").start()
        try:
            async with asyncio.timeout(3):  # with per-user locks this waited for the first transaction
                second = await _committed(alice, "后写的")
        finally:
            await first.finish()
        assert second > first.ids[alice.id]
        assert await InboxItem.filter(user_id=alice.id).count() == 2

    async def test_overlapping_first_notices_in_opposite_orders_do_not_deadlock(self, people):
        alice, bob = people
        carol = await make_user(name="张桂兰")
        both_wrote = asyncio.Barrier(2)

        async def one(first: list, second: list) -> None:  # type: ignore[type-arg]
            async with atomic():
                await notify(first, "test.info", {"title": "第一条"})
                await both_wrote.wait()  # each now holds what the other is about to need
                await notify(second, "test.info", {"title": "第二条"})

        async with asyncio.timeout(10):
            await asyncio.gather(one([alice, bob], [carol]), one([carol], [bob, alice]))
        for user in (alice, bob, carol):
            assert await InboxItem.filter(user_id=user.id).count() == 2


@postgres_only
class TestHorizon:
    async def test_an_id_that_committed_first_waits_above_the_horizon_for_the_older_writer(self, people):
        alice, _ = people
        before = await _committed(alice, "早就有的")
        older = await OpenWriter([alice], "还没提交").start()
        newer = await _committed(alice, "先提交的")
        assert before < older.ids[alice.id] < newer
        upto = await hotpath.horizon()
        assert before <= upto < older.ids[alice.id]  # the committed newer id is not final yet
        await older.finish()
        assert await hotpath.horizon() >= newer

    async def test_a_rolled_back_writer_releases_the_horizon_and_its_id_never_appears(self, people):
        alice, _ = people
        doomed = await OpenWriter([alice], "会回滚").start()
        newer = await _committed(alice, "先提交的")
        assert await hotpath.horizon() < doomed.ids[alice.id]
        await doomed.finish(rollback=True)
        assert await hotpath.horizon() >= newer
        assert await InboxItem.filter(user_id=alice.id).values_list("id", flat=True) == [newer]

    async def test_nothing_ever_appears_at_or_below_a_horizon_already_read(self, people):
        """Forty writers (random pauses before and after notify, one in eight rolling back) against a reader that
        notes, each time, the horizon and the ids at or below it. At the end no noted set may have grown."""
        alice, bob = people
        rng = random.Random(20)
        seen: list[tuple[int, frozenset[int]]] = []
        behind: list[bool] = []  # committed rows above the horizon at that moment
        done = asyncio.Event()

        async def writer(i: int) -> None:
            await asyncio.sleep(rng.uniform(0, 0.4))
            try:
                async with atomic():
                    await asyncio.sleep(rng.uniform(0, 0.02))
                    await notify([alice] if i % 3 else [alice, bob], "test.info", {"title": f"第{i}条"})
                    await asyncio.sleep(rng.uniform(0, 0.05))
                    if i % 8 == 0:
                        raise _RolledBack()
            except _RolledBack:
                pass

        async def reader() -> None:
            while not done.is_set():
                upto = await hotpath.horizon()  # first the horizon, then (a later statement) the rows
                ids = await InboxItem.filter(user_id=alice.id).values_list("id", flat=True)
                seen.append((upto, frozenset(i for i in ids if i <= upto)))
                behind.append(any(i > upto for i in ids))
                await asyncio.sleep(0.002)

        watching = asyncio.create_task(reader())
        await asyncio.gather(*(writer(i) for i in range(40)))
        done.set()
        await watching
        final = set(await InboxItem.filter(user_id=alice.id).values_list("id", flat=True))
        assert len(final) == 35  # 40 written, 5 rolled back
        assert len(seen) > 10
        for upto, ids in seen:
            assert {i for i in final if i <= upto} == ids, f"an id appeared at or below horizon {upto} later"
        assert any(behind)  # the run did meet committed rows held above the horizon


# ------------------------------------------------------------------------------------------------ readers


@postgres_only
class TestReadersStopAtTheHorizon:
    async def test_a_live_hint_that_overtook_an_open_writer_waits_and_both_arrive_in_order(
        self, ws_server, people, nsettings, bus
    ):
        alice, _ = people
        client = await open_socket(ws_server.url, await access_token(nsettings, alice))
        await client.resume(None)
        worker = Worker(nsettings, bus)
        running = asyncio.create_task(worker.run_forever())
        try:
            older = await OpenWriter([alice], "还没提交").start()
            newer = await _committed(alice, "先提交的")
            await asyncio.sleep(0.5)  # the worker ran the newer item's push: it must not have gone out
            assert client.ids == []
            await older.finish()
            await client.until(lambda: len(client.ids) == 2)
            await asyncio.sleep(0.2)
            assert client.ids == [older.ids[alice.id], newer]
        finally:
            worker.stop()
            await running
            await client.close()

    async def test_a_resume_stops_at_the_horizon_and_fetches_the_rest_once_the_writer_ends(
        self, ws_server, people, nsettings
    ):
        alice, _ = people
        cursor = await _committed(alice, "看过的")
        older = await OpenWriter([alice], "还没提交").start()
        newer = await _committed(alice, "先提交的")
        client = await open_socket(ws_server.url, await access_token(nsettings, alice))
        await client.resume(cursor)  # no outbox worker runs in this test: only the resume itself delivers
        await asyncio.sleep(0.3)
        assert client.ids == []
        await older.finish()
        await client.until(lambda: len(client.ids) == 2, timeout=5)
        assert client.ids == [older.ids[alice.id], newer]
        await client.close()

    async def test_the_first_page_of_the_inbox_stops_at_the_horizon(self, client, settings, people):
        alice, _ = people
        headers = await auth_headers(settings, alice)
        seen = await _committed(alice, "看过的")
        older = await OpenWriter([alice], "还没提交").start()
        newer = await _committed(alice, "先提交的")
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()
        assert [i["id"] for i in listed["items"]] == [seen]  # its newest id becomes the app's socket cursor
        await older.finish()
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()
        assert [i["id"] for i in listed["items"]] == [newer, older.ids[alice.id], seen]


# ------------------------------------------------------------------------------------------------ silence in SQL


class TestSilenceInSql:
    async def test_the_statement_applies_the_same_rule_as_is_silent(self, people):
        """Muting and quiet hours are decided inside the INSERT; compare with the Python rule for windows
        before, around, starting at, ending at and wrapping over this minute, for every urgency and a digest."""
        now = to_local(utcnow())
        minute = now.hour * 60 + now.minute

        def at(offset: int) -> int:
            return (minute + offset) % 1440

        windows = [None, (at(-30), at(30)), (at(1), at(60)), (at(0), at(1)), (at(-1), at(0)), (at(60), at(30)),
                   (at(30), at(-30)), (at(-60), at(-30))]
        users, prefs = [], {}
        for i, window in enumerate(windows * 2):
            user = await make_user(name=f"用户{i}")
            muted = ["test.info"] if i >= len(windows) else ["test.other"]
            prefs[user.id] = await NotificationPreference.create(
                user=user, muted_kinds=muted, quiet_start=window[0] if window else None,
                quiet_end=window[1] if window else None,
            )
            users.append(user)
        plain = await make_user(name="没有偏好的人")
        users.append(plain)
        for kind, urgency in [("test.info", Urgency.NORMAL), ("test.info", Urgency.URGENT),
                              ("test.other", Urgency.NORMAL), ("digest", Urgency.NORMAL)]:
            done = await notify(users, kind, {"title": "规则对照"}, urgency=urgency)
            assert done is not None
            rows = await InboxItem.filter(event_id=done.event_id).select_related("event")
            assert len(rows) == len(users)
            for row in rows:
                expected = is_silent(prefs.get(row.user_id), kind, urgency, row.event.created_at)
                assert row.silent is expected, (kind, urgency, row.user_id, prefs.get(row.user_id) and (
                    prefs[row.user_id].quiet_start, prefs[row.user_id].quiet_end), minute)
        assert await InboxItem.filter(silent=True).exists() and await InboxItem.filter(silent=False).exists()


async def test_a_notice_is_one_statement_on_postgresql(people):
    """The caller's cost: one round trip (the event, the inbox rows, the WeChat legs and every outbox row),
    counted on the transaction's own connection."""
    if not PG_URL:
        pytest.skip("SQLite writes in five local statements")
    from tortoise import connections

    alice, bob = people
    statements: list[str] = []
    async with atomic():
        raw = connections.get("default")._connection  # the asyncpg connection of this transaction

        def log(record) -> None:  # type: ignore[no-untyped-def]
            statements.append(record.query)

        raw.add_query_logger(log)
        done = await notify([alice, bob], "announcement", {"title": "停水通知", "unit_name": "1号楼"},
                            urgency=Urgency.URGENT)
        raw.remove_query_logger(log)
    assert done is not None and len(done.items) == 2
    assert len(statements) == 1, statements
    assert await InboxItem.filter(event_id=done.event_id).count() == 2
