"""Races settled by the database: concurrent escalations of one report, sent as real concurrent HTTP requests
to a real uvicorn server process on the test database, yield exactly one escalation."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.reports import Level, Report, ReportEvent
from bench.harness import Server
from tests.conftest import REDIS_URL, TEST_SECRET

pytestmark = pytest.mark.live


@pytest.fixture
async def server(database, fake_wechat):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINLIN_")}
    env.update(
        {
            "JINLIN_ENV": "test",
            "JINLIN_SECRET_KEY": TEST_SECRET,
            "JINLIN_DATABASE_URL": database.url,
            "JINLIN_WECHAT_API_BASE": fake_wechat.base_url,
            "JINLIN_LOG_LEVEL": "WARNING",
            "JINLIN_H5_DIR": "",
            "JINLIN_WORKER_IN_PROCESS": "false",
            "JINLIN_DB_POOL_SIZE": "20",
        }
    )
    if REDIS_URL:
        env["JINLIN_REDIS_URL"] = REDIS_URL
    proc = Server("backend.main:app_factory", factory=True, env=env)
    try:
        await asyncio.get_running_loop().run_in_executor(None, proc.wait)
        yield proc
    finally:
        proc.stop()


async def _escalations(report_id: int) -> int:
    return await ReportEvent.filter(report_id=report_id, action="escalate").count()


class TestConcurrentEscalation:
    async def test_escalations_of_the_same_version_yield_one(self, world, server):
        rid = (await world.report("resident"))["id"]
        racers = ["grid_worker", "grid_leader", "community_staff", "street_staff", "admin"] * 4
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            start = asyncio.Event()

            async def escalate(who: str) -> httpx.Response:
                await start.wait()
                return await http.post(
                    f"/api/v1/reports/{rid}/escalate",
                    headers=world.headers[who],
                    json={"reason": "需要上级协调", "version": 1},
                )

            tasks = [asyncio.create_task(escalate(who)) for who in racers]
            await asyncio.sleep(0.05)
            start.set()
            results = await asyncio.gather(*tasks)
        codes = sorted(r.status_code for r in results)
        assert codes == [200] + [409] * (len(racers) - 1), codes
        assert {r.json()["error"] for r in results if r.status_code == 409} == {"ReportChanged"}
        row = await Report.get(id=rid)
        assert (row.level, row.version, row.escalations) == (Level.COMMUNITY, 2, 1)
        assert await _escalations(rid) == 1
        live = [
            e
            for e in await OutboxEvent.filter(kind="reports.clock", status=OutboxStatus.PENDING)
            if e.payload["version"] == 2
        ]
        assert len(live) == 1

    async def test_escalations_without_a_version_still_move_one_level_per_winner(self, world, server):
        """Grid-level handlers racing without a version: one wins; the others find the report gone up to the
        community (409 if they read it before, 403 after) and nothing is escalated twice."""
        rid = (await world.report("resident"))["id"]
        racers = ["grid_worker", "grid_leader"] * 8
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            results = await asyncio.gather(
                *(
                    http.post(
                        f"/api/v1/reports/{rid}/escalate", headers=world.headers[who], json={"reason": "并发"}
                    )
                    for who in racers
                )
            )
        codes = [r.status_code for r in results]
        assert codes.count(200) == 1 and set(codes) <= {200, 403, 409}, codes
        row = await Report.get(id=rid)
        assert (row.level, row.version) == (Level.COMMUNITY, 2) and await _escalations(rid) == 1

