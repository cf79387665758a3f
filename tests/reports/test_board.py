"""晒: the public monthly board — 三率 per grid and department computed from a known month, anonymous lines,
the month frozen once by the periodic job, and the Excel export."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.reports import BoardSnapshot, Report
from backend.outbox import service as outbox
from backend.outbox.worker import Worker
from backend.reports import board
from tests.reports.conftest import point_in


async def _known_month(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A: answered on time, resolved, rated 5 (whistled to 城管, who reported in and finished)
    B: never answered, its accept clock ran out · C: answered, resolved, rated 2 (reopened)
    D: withdrawn (listed, not counted) · E: in grid 2, still inside its clock."""
    a = (await world.report("resident", description="A"))["id"]
    b = (await world.report("resident", description="B"))["id"]
    c = (await world.report("resident", description="C"))["id"]
    d = (await world.report("resident", description="D"))["id"]
    e = (await world.report("resident_b", description="E", **point_in(1)))["id"]
    await world.act("grid_worker", a, "accept")
    resp = await world.client.post(
        f"/api/v1/reports/{a}/whistles",
        headers=world.headers["community_staff"],
        json={"department_ids": [world.departments[0].id], "note": "协调", "deadline_hours": 24},
    )
    target = resp.json()["targets"][0]["id"]
    await world.client.post(
        f"/api/v1/reports/whistle-targets/{target}/progress",
        headers=world.headers["department"],
        json={"note": "已处理", "done": True},
    )
    await world.act(
        "grid_worker", a, "resolve", note="已清运", public_note="已清运，联系电话13912345678，3号楼"
    )
    await world.act("resident", a, "rate", score=5)
    await Report.filter(id=b).update(response_due_at=utcnow() - timedelta(hours=1), was_overdue=True)
    await world.act("grid_worker", c, "accept")
    await world.act("grid_worker", c, "resolve", note="已处理")
    await world.act("resident", c, "rate", score=2)
    await world.act("resident", d, "withdraw")
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


class TestRates:
    async def test_the_three_rates_from_a_known_month(self, world):
        await _known_month(world)
        community = world.tree.community(0)
        resp = await world.client.get(f"/api/v1/reports/board/{community.id}")  # public: no login
        assert resp.status_code == 200, resp.text
        out = resp.json()
        t = out["totals"]
        assert (
            t["total"],
            t["response_due"],
            t["responded_on_time"],
            t["resolved"],
            t["rated"],
            t["satisfied"],
            t["overdue"],
        ) == (4, 3, 2, 1, 2, 1, 1)
        assert (t["response_rate"], t["resolution_rate"], t["satisfaction_rate"]) == (66.7, 25.0, 50.0)
        grids = {g["name"]: g for g in out["grids"]}
        assert grids[world.grid(0, 0).name]["total"] == 3 and grids[world.grid(0, 1).name]["total"] == 1
        assert grids[world.grid(0, 1).name]["response_rate"] is None  # nothing due yet
        [department] = out["departments"]
        assert (
            department["name"],
            department["total"],
            department["responded_on_time"],
            department["resolved"],
            department["satisfaction_rate"],
        ) == ("城管执法队", 1, 1, 1, 100.0)
        assert out["frozen"] is False and out["categories"][0]["name"] == "环境卫生"

    async def test_lines_are_anonymous(self, world):
        ids = await _known_month(world)
        rows = (await world.client.get(f"/api/v1/reports/board/{world.tree.community(0).id}/rows")).json()[
            "items"
        ]
        assert {r["report_id"] for r in rows} == set(ids.values())
        text = str(rows)
        for person in ("resident", "resident_b", "grid_worker"):
            assert world[person].name not in text and world[person].phone not in text
        assert "13912345678" not in text and "3号楼" not in text
        line = next(r for r in rows if r["report_id"] == ids["a"])
        assert "城管执法队" in line["handled_by"] and line["result"].startswith("已清运")
        assert line["lat"] == 36.005 and line["lng"] in (103.705, 103.70)  # snapped to the ~500 m grid

    async def test_an_unknown_or_non_community_unit_has_no_board(self, world):
        assert (await world.client.get(f"/api/v1/reports/board/{world.grid(0, 0).id}")).status_code == 404
        assert (await world.client.get("/api/v1/reports/board/999999")).status_code == 404
        bad_month = await world.client.get(
            f"/api/v1/reports/board/{world.tree.community(0).id}?month=2026-13"
        )
        assert bad_month.status_code == 422


class TestPublication:
    async def test_last_month_is_frozen_once_by_the_periodic_job_and_later_changes_do_not_move_it(
        self, world, settings, bus
    ):
        ids = await _known_month(world)
        month = board.previous_month()
        start, _ = board.month_bounds(month)
        await Report.all().update(created_at=start + timedelta(days=2))
        async with atomic():
            await outbox.enqueue("reports.publish_boards", {})
        await Worker(settings, bus).run_due()
        community = world.tree.community(0)
        snap = await BoardSnapshot.get(unit_id=community.id, month=month)
        assert snap.rows == 5 and await BoardSnapshot.filter(month=month).count() == 2  # both communities

        await world.act("community_staff", ids["c"], "accept")
        await world.act("community_staff", ids["c"], "resolve", note="社区协调解决")
        await world.act("resident", ids["c"], "rate", score=5)
        frozen = (await world.client.get(f"/api/v1/reports/board/{community.id}?month={month}")).json()
        assert frozen["frozen"] is True and frozen["totals"]["satisfied"] == 1
        assert (await board.summary(community, month)).totals.satisfied == 2  # the live numbers did move
        assert await board.publish_month(month) == 0  # a second run publishes nothing
        rows = (
            await world.client.get(f"/api/v1/reports/board/{community.id}/rows?month={month}&limit=2")
        ).json()
        assert len(rows["items"]) == 2 and rows["next_cursor"]


class TestExport:
    async def test_the_month_as_an_excel_workbook(self, world):
        await _known_month(world)
        community = world.tree.community(0)
        assert (await world.client.get(f"/api/v1/reports/board/{community.id}/export")).status_code == 401
        resp = await world.get("resident", f"/api/v1/reports/board/{community.id}/export")
        assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(resp.content), read_only=True)
        assert book.sheetnames == ["三率", "部门", "上报明细"]
        lines = list(book["上报明细"].iter_rows(values_only=True))
        assert len(lines) == 1 + 5 and lines[0][0] == "编号"
        totals = list(book["三率"].iter_rows(values_only=True))[3]
        assert totals[1:4] == (4, 2, 3)
