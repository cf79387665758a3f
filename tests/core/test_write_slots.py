"""Write slots (backend/core/sql.py, docs/adr/0029): at most N heavy autocommit writes of a process in the
database at once, the rest waiting their turn; never a wait inside a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from backend.config import Settings
from backend.core import sql
from backend.core.db import atomic


@pytest_asyncio.fixture
async def slots() -> AsyncIterator[None]:
    yield
    sql.install_write_slots(None)


async def _writers(n: int, *, inside: float = 0.02) -> tuple[int, list[int]]:
    """``n`` concurrent writers, each holding its slot for ``inside`` seconds; the most in flight at once and
    the order in which they got in."""
    in_flight, most, order = 0, 0, []

    async def one(i: int) -> None:
        nonlocal in_flight, most
        async with sql.write_slot():
            order.append(i)
            in_flight += 1
            most = max(most, in_flight)
            await sql.execute("SELECT 1")  # a statement of its own, on the pool
            await asyncio.sleep(inside)
            in_flight -= 1

    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # each one arrives before the next
    await asyncio.gather(*tasks)
    return most, order


async def test_no_more_than_the_limit_are_in_flight_and_they_go_in_arrival_order(slots) -> None:  # type: ignore[no-untyped-def]
    sql.install_write_slots(3)
    assert sql.write_limit() == 3
    most, order = await _writers(12)
    assert most == 3  # the limit is reached, and never passed
    assert order == list(range(12))  # first come, first served
    assert len(order) == 12


async def test_without_a_limit_everyone_goes_in_at_once(slots) -> None:  # type: ignore[no-untyped-def]
    sql.install_write_slots(None)
    assert sql.write_limit() is None
    most, _ = await _writers(8)
    assert most == 8
    sql.install_write_slots(0)  # 0 is "no limit" too
    assert sql.write_limit() is None


async def test_a_write_inside_a_transaction_does_not_wait_for_a_slot(slots) -> None:  # type: ignore[no-untyped-def]
    """Every slot is held by writers that cannot finish yet; a write in a transaction still goes ahead (it may
    hold row locks those writers wait for: waiting here could deadlock where no database can see it)."""
    sql.install_write_slots(2)
    release, all_in = asyncio.Event(), asyncio.Event()
    entered = 0

    async def holder() -> None:
        nonlocal entered
        async with sql.write_slot():
            entered += 1
            if entered == 2:
                all_in.set()
            await release.wait()

    holders = [asyncio.create_task(holder()) for _ in range(2)]
    await asyncio.wait_for(all_in.wait(), timeout=5)

    async def in_transaction() -> None:
        async with atomic():
            async with sql.write_slot():
                await sql.execute("SELECT 1")

    await asyncio.wait_for(in_transaction(), timeout=5)  # does not wait for the held slots
    waiting = asyncio.create_task(_writers(1))  # an autocommit write does wait
    await asyncio.sleep(0.05)
    assert not waiting.done()
    release.set()
    await asyncio.gather(*holders)
    assert (await asyncio.wait_for(waiting, timeout=5))[0] == 1


@pytest.mark.parametrize(("pool", "configured", "expected"), [
    (20, None, 10), (10, None, 5), (1, None, 1), (20, 4, 4), (20, 0, None),
])
def test_the_default_is_half_the_pool(pool: int, configured: int | None, expected: int | None) -> None:
    settings = Settings(_env_file=None, db_pool_size=pool, db_write_slots=configured)  # type: ignore[call-arg]
    assert settings.write_slots == expected
