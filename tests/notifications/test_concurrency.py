"""Many reports into one grid at once, as real concurrent HTTP requests against a real server (PostgreSQL when
the suite has it): every report notifies the grid's team through notify(), in the report's own transaction.

No request fails or is retried as a deadlock victim; each team member's inbox holds exactly one item per report
(none lost, none doubled); a socket that was live during the burst received exactly those items, once each and
in id order; and sockets resuming afterwards from the start or from a cursor in the middle receive exactly
what they missed, in order.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from backend.models.notifications import InboxItem
from backend.models.org import OrgUnit
from backend.models.user import Role, RoleGrant
from backend.notifications.service import notify
from backend.outbox.worker import Worker
from backend.reports import repository as reports_repository
from backend.reports import routing
from tests.builders import auth_headers, make_org_tree, make_user
from tests.notifications.conftest import WsClient, access_token, open_socket

pytestmark = pytest.mark.live
GRID_ONE, GRID_TWO = 30, 10  # reports filed at once into each grid; the grids share their leader
SIDE, BASE_LAT, BASE_LNG = 0.01, 36.0, 103.7


def _square(index: int) -> list[list[float]]:
    x0 = BASE_LNG + SIDE * index
    return [[x0, BASE_LAT], [x0 + SIDE, BASE_LAT], [x0 + SIDE, BASE_LAT + SIDE], [x0, BASE_LAT + SIDE]]


async def _grids_with_polygons() -> tuple[OrgUnit, list[OrgUnit], list]:  # type: ignore[type-arg]
    routing.forget_geometry()
    reports_repository.forget_names()  # ids restart in every test
    tree = await make_org_tree(communities=1, grids=2, households=4)
    grids = [tree.grid(0, 0), tree.grid(0, 1)]
    for index, grid in enumerate(grids):
        grid.boundary = _square(index)
        await grid.save(update_fields=["boundary"])
    households = [tree.communities[0].households[g.id] for g in grids]
    return tree.community(0), grids, households


async def _wait_for(client: WsClient, n: int) -> None:
    await client.until(lambda: len(client.ids) >= n, timeout=30, what=f"{n} items")
    await asyncio.sleep(0.3)  # late duplicates, if any, arrive now


async def test_reports_filed_at_once_reach_every_inbox_and_socket_once_in_order(
    ws_server, settings, nsettings, bus, caplog
):
    community, grids, households = await _grids_with_polygons()
    leader = await make_user(Role.GRID_LEADER, grids[0], name="网格长")
    await RoleGrant.create(user=leader, role=Role.GRID_LEADER, org_unit=grids[1])
    workers = [await make_user(Role.GRID_WORKER, grid, name=f"网格员{i}") for i, grid in enumerate(grids)]
    residents = []
    for g, homes in enumerate(households):
        for i in range(8):
            residents.append((g, await make_user(Role.RESIDENT, community, household=homes[i % len(homes)],
                                                 name=f"居民{g}-{i}")))
    # the leader already has an inbox, the workers do not: the mix that made the old inbox-state locks deadlock
    before = await notify([leader], "test.info", {"title": "早先的通知"})
    cursor = before.items[leader.id]

    live = {u.id: await open_socket(ws_server.url, await access_token(nsettings, u)) for u in [leader, *workers]}
    for client in live.values():
        await client.resume(None)
    worker = Worker(nsettings, bus)
    running = asyncio.create_task(worker.run_forever())
    caplog.set_level(logging.INFO, logger="backend.reports.retry")

    headers = {u.id: await auth_headers(settings, u) for _, u in residents}
    plan = [0] * GRID_ONE + [1] * GRID_TWO
    start = asyncio.Event()
    http_url = ws_server.url.replace("ws://", "http://")
    try:
        async with httpx.AsyncClient(base_url=http_url, timeout=60,
                                     limits=httpx.Limits(max_connections=len(plan))) as http:

            async def file(i: int, grid: int) -> httpx.Response:
                _, resident = [r for r in residents if r[0] == grid][i % 8]
                body = {"category": "sanitation.garbage", "description": f"第{i}个：垃圾没人清运",
                        "lat": BASE_LAT + SIDE / 2, "lng": BASE_LNG + SIDE * grid + SIDE * (0.1 + 0.8 * i / len(plan))}
                await start.wait()
                return await http.post("/api/v1/reports", json=body, headers=headers[resident.id])

            tasks = [asyncio.create_task(file(i, g)) for i, g in enumerate(plan)]
            await asyncio.sleep(0.05)
            start.set()
            answers = await asyncio.gather(*tasks)
        assert [a.status_code for a in answers] == [201] * len(plan), [a.text for a in answers if a.status_code != 201]
        report_ids = {g: {a.json()["id"] for a, gg in zip(answers, plan, strict=True) if gg == g} for g in (0, 1)}
        aborted = [r.getMessage() for r in caplog.records if "aborted" in r.getMessage()]
        assert aborted == []  # no transaction was picked as a deadlock victim and run again

        expected = {leader.id: report_ids[0] | report_ids[1], workers[0].id: report_ids[0],
                    workers[1].id: report_ids[1]}
        for user_id, reports in expected.items():
            rows = await InboxItem.filter(user_id=user_id, kind="report.created").select_related("event")
            assert sorted(r.event.data["report_id"] for r in rows) == sorted(reports)  # one each: none lost/doubled
            client = live[user_id]
            await _wait_for(client, len(reports))
            inbox_ids = sorted(r.id for r in rows)
            assert client.ids == inbox_ids  # once each, in id order
            assert sorted({m["item"]["data"]["report_id"] for m in client.items}) == sorted(reports)
    finally:
        worker.stop()
        await running
        for client in live.values():
            await client.close()

    everything = sorted(await InboxItem.filter(user_id=leader.id).values_list("id", flat=True))
    token = await access_token(nsettings, leader)
    fresh = await open_socket(ws_server.url, token)
    await fresh.resume(0)
    assert fresh.ids == everything
    await fresh.close()
    middle = everything[len(everything) // 2]
    resumed = await open_socket(ws_server.url, token)
    await resumed.resume(middle)
    assert resumed.ids == [i for i in everything if i > middle]
    await resumed.close()
    from_cursor = await open_socket(ws_server.url, token)
    await from_cursor.resume(cursor)
    assert from_cursor.ids == everything[1:]
    await from_cursor.close()
