"""The fair connection queue (backend/core/pgclient.py): a released connection goes to the longest waiter."""

from __future__ import annotations

import asyncio

import pytest

from backend.core.pgclient import FairHolderQueue


class Holder:
    def __init__(self, name: str) -> None:
        self.name = name

    def is_connected(self) -> bool:
        return True


async def _line_up(queue: FairHolderQueue, names: list[str], got: list[str]) -> list[asyncio.Task]:
    async def take(name: str) -> None:
        holder = await queue.get()
        got.append(f"{name}<-{holder.name}")

    tasks = []
    for name in names:
        tasks.append(asyncio.create_task(take(name)))
        await asyncio.sleep(0)  # each one reaches the queue before the next
    return tasks


async def test_a_released_connection_goes_to_the_longest_waiter_not_to_a_newcomer() -> None:
    queue = FairHolderQueue(maxsize=3)
    got: list[str] = []
    waiting = await _line_up(queue, ["first", "second"], got)

    async def newcomer() -> None:
        holder = await queue.get()
        got.append(f"newcomer<-{holder.name}")

    # the newcomer is already scheduled when the connection is released, so it runs before the woken waiter:
    # asyncio's queue lets it take c1 and sends "first" to the back of the line
    late = asyncio.create_task(newcomer())
    queue.put_nowait(Holder("c1"))
    await asyncio.sleep(0)
    queue.put_nowait(Holder("c2"))
    await asyncio.sleep(0)
    queue.put_nowait(Holder("c3"))
    await asyncio.wait_for(asyncio.gather(*waiting, late), 1)
    assert sorted(got) == ["first<-c1", "newcomer<-c3", "second<-c2"]


async def test_nobody_waits_when_a_connection_is_free() -> None:
    queue = FairHolderQueue(maxsize=1)
    queue.put_nowait(Holder("c1"))
    assert (await asyncio.wait_for(queue.get(), 1)).name == "c1"
    assert queue.empty()


async def test_a_waiter_cancelled_after_being_handed_a_connection_passes_it_on() -> None:
    queue = FairHolderQueue(maxsize=1)
    got: list[str] = []
    first, second = await _line_up(queue, ["first", "second"], got)
    queue.put_nowait(Holder("c1"))  # handed to first ...
    first.cancel()  # ... which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    assert got == ["second<-c1"]


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    queue = FairHolderQueue(maxsize=1)
    got: list[str] = []
    first, second = await _line_up(queue, ["first", "second"], got)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    queue.put_nowait(Holder("c1"))
    await asyncio.wait_for(second, 1)
    assert got == ["second<-c1"]
    queue.put_nowait(Holder("c2"))
    assert (await asyncio.wait_for(queue.get(), 1)).name == "c2"  # no stale waiter in front


async def test_the_application_pool_is_the_fair_one() -> None:
    from tortoise import connections

    from backend.core import sql
    from backend.core.pgclient import FairAsyncpgClient

    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        assert sql.is_sqlite()  # SQLite has no pool; nothing to check
        return
    await sql.fetch("SELECT 1 AS one")
    assert isinstance(conn, FairAsyncpgClient)
    assert isinstance(conn._pool._queue, FairHolderQueue)
