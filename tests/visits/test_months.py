"""The monthly 走访台账: numbers that match a hand-computed fixture, the submit / approve / return workflow, and
the Excel export whose totals equal the API's.

Fixture, month M = last month, community 1 (grids A and B, four households each), everyone's assignments made
ten days before M:
- 党员老张 holds A0, A1, A2; A2 moves to 党员小李 on day 20. 党员小李 holds B0, B1 (and A2 from day 20).
- 老张 visits A0 on day 3 (home, finds 安全隐患) and day 10 (home); A1 on day 4 (nobody home) and day 5 (home,
  1.1 km away: flagged; finds 生活困难 and 矛盾纠纷, the first solved on the spot). He also visited A0 the month
  before M (not counted).
- 小李 visits A2 on day 22 (home) and B0 on day 6 (home, rejected on review).
- 网格员小王 visits A3 (nobody's household) on day 8 (home, finds 其他问题).
- In community 2, 外社区党员 holds and visits one household (only the street's numbers include it).

By hand — 老张: assigned 3, visited 2 (A0, A1), 66.7 %, visits 4, not home 1, flagged 1, problems 3 / solved 1.
小李: assigned 3 (B0, B1, A2), visited 1 (A2; B0's visit was rejected), 33.3 %, visits 1, rejected 1.
小王: assigned 0, visits 1, problems 1. Grid A: 4 households, assigned 3, visited 3 (A2 by 小李), 100 %, visits 6,
not home 1, flagged 1, problems 4 / 1. Grid B: 4 households, assigned 2, visited 0, 0 %, rejected 1.
Community: 8 households, assigned 5, visited 3, 60 %, visits 6, not home 1, flagged 1, rejected 1, problems 4 / 1.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from backend.core.timeutil import to_local, utcnow
from backend.models.audit import AuditLog
from backend.models.notifications import NotificationEvent
from backend.models.visits import AssignmentSpan, MonthStatus, VisitMonth, VisitMonthEvent, VisitProblem
from backend.visits import months, service
from backend.visits.schemas import ReviewIn
from tests.visits.conftest import V, body, live_env, local

M = months.previous_month()
YEAR, MONTH = (int(p) for p in M.split("-"))


def day(d: int, hour: int = 10):  # type: ignore[no-untyped-def]
    return local(YEAR, MONTH, d, hour)


@pytest.fixture
async def fixture(world):  # type: ignore[no-untyped-def]
    before = day(1) - timedelta(days=10)
    a = [world.h(0, 0, i) for i in range(4)]
    b = [world.h(0, 1, i) for i in range(4)]
    await world.assign("party", a[0], a[1], a[2], at=before)
    await world.assign("party_2", b[0], b[1], by="staff", at=before)
    await world.assign("party_2", a[2], by="staff")
    await AssignmentSpan.filter(household_id=a[2].id, visitor_id=world["party"].id).update(ended_at=day(20, 0))
    await world.assign("party_2", a[2], by="staff", at=day(20, 0))  # back-date the move (unchanged otherwise)
    await AssignmentSpan.filter(household_id=a[2].id, visitor_id=world["party_2"].id).update(started_at=day(20, 0))
    await world.assign("party_other", world.h(1, 0, 2), by="staff_other", at=before)

    await world.visit("party", a[0], at=day(1) - timedelta(days=15))
    await world.visit("party", a[0], at=day(3), tags=("safety",))
    await world.visit("party", a[0], at=day(10))
    await world.visit("party", a[1], at=day(4), at_home=False)
    flagged = await world.visit("party", a[1], at=day(5), near=False, tags=("hardship", "dispute"))
    await world.visit("party_2", a[2], at=day(22))
    rejected = await world.visit("party_2", b[0], at=day(6))
    await world.visit("grid_worker", a[3], at=day(8), tags=("other",))
    await world.visit("party_other", world.h(1, 0, 2), at=day(7))
    await service.review(await world.principal("staff"), rejected, ReviewIn(decision="reject", note="不在家还打卡"))
    problem = await VisitProblem.get(visit_id=flagged.id, tag="hardship")
    await service.solve(await world.principal("party"), problem, "已联系社区办理临时救助")
    assert flagged.out_of_fence
    return world


def numbers(row: dict) -> tuple:  # type: ignore[type-arg]
    return (row["assigned"], row["visited"], row["coverage"], row["visits"], row["not_home"], row["flagged"],
            row["rejected"], row["problems_found"], row["problems_solved"])


class TestNumbers:
    async def test_community_report_matches_the_hand_computed_fixture(self, client, fixture):
        w = fixture
        resp = await client.get(f"{V}/report", params={"unit_id": w.tree.community(0).id, "month": M},
                                headers=w.headers["staff"])
        assert resp.status_code == 200, resp.text
        out = resp.json()
        visitors = {r["name"]: numbers(r) for r in out["visitors"]}
        assert visitors == {
            "党员老张": (3, 2, 66.7, 4, 1, 1, 0, 3, 1),
            "党员小李": (3, 1, 33.3, 1, 0, 0, 1, 0, 0),
            "网格员小王": (0, 0, None, 1, 0, 0, 0, 1, 0),
        }
        grids = {r["name"]: (r["households"], *numbers(r)) for r in out["grids"]}
        assert grids == {"社区1第1网格": (4, 3, 3, 100.0, 6, 1, 1, 0, 4, 1),
                         "社区1第2网格": (4, 2, 0, 0.0, 0, 0, 0, 1, 0, 0)}
        assert (out["total"]["households"], *numbers(out["total"])) == (8, 5, 3, 60.0, 6, 1, 1, 1, 4, 1)

    async def test_a_grid_leader_sees_their_grid_and_the_street_sees_both_communities(self, client, fixture):
        w = fixture
        grid = await client.get(f"{V}/report", params={"unit_id": w.tree.grid(0, 0).id, "month": M},
                                headers=w.headers["leader"])
        assert [g["name"] for g in grid.json()["grids"]] == ["社区1第1网格"]
        assert {r["name"] for r in grid.json()["visitors"]} == {"党员老张", "党员小李", "网格员小王"}
        street = await client.get(f"{V}/report", params={"unit_id": w.tree.street.id, "month": M},
                                  headers=w.headers["street"])
        t = street.json()["total"]
        assert (t["households"], t["assigned"], t["visited"], t["visits"]) == (16, 6, 4, 7)

    async def test_my_month(self, client, fixture):
        resp = await client.get(f"{V}/months/mine", params={"month": M}, headers=fixture.headers["party"])
        out = resp.json()
        assert out["status"] == "draft" and out["id"] is None and out["live"] is None
        s = out["stats"]
        assert (s["assigned"], s["visited"], s["coverage"], s["visits"], s["problems_found"]) == (3, 2, 66.7, 4, 3)

    async def test_a_problem_whose_report_was_resolved_counts_as_solved(self, client, fixture):
        w = fixture
        problem = await VisitProblem.get(tag="safety")
        resp = await client.post(f"{V}/problems/{problem.id}/report", json={}, headers=w.headers["grid_worker"])
        assert resp.status_code == 201, resp.text
        from backend.models.reports import Report

        await Report.filter(id=resp.json()["report_id"]).update(status="resolved")
        out = (await client.get(f"{V}/report", params={"unit_id": w.tree.community(0).id, "month": M},
                                headers=w.headers["staff"])).json()
        assert (out["total"]["problems_found"], out["total"]["problems_solved"]) == (4, 2)


class TestWorkflow:
    async def test_submit_return_resubmit_approve(self, client, fixture, settings, bus):
        w = fixture
        resp = await client.post(f"{V}/months/{M}/submit", headers=w.headers["party"])
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert out["status"] == "submitted" and out["stats"]["visits"] == 4 and out["version"] == 2
        row = await VisitMonth.get(visitor_id=w["party"].id, month=M)
        assert row.grid_id == w.tree.grid(0, 0).id  # where his households are
        told = await NotificationEvent.get(kind="visits.month_submitted")
        assert told.title == f"党员老张提交了{M}走访台账"

        # the leader of another community does not see it; this grid's leader does
        assert (await client.get(f"{V}/months", params={"month": M}, headers=w.headers["leader_other"])).json()[
            "items"] == []
        listed = (await client.get(f"{V}/months", params={"month": M}, headers=w.headers["leader"])).json()["items"]
        assert [i["visitor_name"] for i in listed] == ["党员老张"]

        back = await client.post(f"{V}/months/{row.id}/return", json={"reason": "A1 的走访位置不对，请说明"},
                                 headers=w.headers["leader"])
        assert back.json()["status"] == "returned" and back.json()["return_reason"] == "A1 的走访位置不对，请说明"
        assert (await NotificationEvent.get(kind="visits.month_returned")).body == "A1 的走访位置不对，请说明"
        approve_returned = await client.post(f"{V}/months/{row.id}/approve", json={}, headers=w.headers["leader"])
        assert approve_returned.status_code == 409

        again = await client.post(f"{V}/months/{M}/submit", headers=w.headers["party"])
        assert again.json()["status"] == "submitted" and again.json()["return_reason"] is None
        ok = await client.post(f"{V}/months/{row.id}/approve", json={"version": again.json()["version"]},
                               headers=w.headers["leader"])
        assert ok.status_code == 200 and ok.json()["status"] == "approved"
        assert await NotificationEvent.filter(kind="visits.month_approved").count() == 1
        moves = await VisitMonthEvent.filter(visit_month_id=row.id).order_by("id").values_list("action", "to_status")
        assert moves == [("submit", "submitted"), ("return", "returned"), ("submit", "submitted"),
                         ("approve", "approved")]
        twice = await client.post(f"{V}/months/{row.id}/approve", json={}, headers=w.headers["leader"])
        assert twice.status_code == 409 and twice.json()["error"] == "InvalidTransition"

    async def test_after_submitting_late_visits_are_kept_flagged_and_edits_refused(self, client, fixture):
        w = fixture
        await client.post(f"{V}/months/{M}/submit", headers=w.headers["party"])
        late = await world_visit_late(client, w)
        assert "month_submitted" in {f["code"] for f in late["flags"]}
        mine = (await client.get(f"{V}/months/mine", params={"month": M}, headers=w.headers["party"])).json()
        assert mine["stats"]["visits"] == 4 and mine["live"]["visits"] == 5  # frozen vs. now
        edit = {**late["_sent"], "notes": "补充", "base_version": 1}
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [edit]},
                                 headers=w.headers["party"])
        r = resp.json()["results"][0]
        assert r["outcome"] == "rejected" and r["error"]["error"] == "MonthLocked"

    async def test_refusals(self, client, fixture):
        w = fixture
        future = to_local(day(1) + timedelta(days=70))
        resp = await client.post(f"{V}/months/{future:%Y-%m}/submit", headers=w.headers["party"])
        assert resp.status_code == 422 and resp.json()["error"] == "FutureMonth"
        resp = await client.post(f"{V}/months/{M}/submit", headers=w.headers["grid_worker"])
        assert resp.status_code == 409 and resp.json()["error"] == "NothingToSubmit"
        assert await VisitMonth.all().count() == 0
        await w.assign("leader", w.h(0, 0, 3), by="staff", at=day(1) - timedelta(days=3))
        await client.post(f"{V}/months/{M}/submit", headers=w.headers["leader"])
        own = await VisitMonth.get(visitor_id=w["leader"].id)
        resp = await client.post(f"{V}/months/{own.id}/approve", json={}, headers=w.headers["leader"])
        assert resp.status_code == 403
        resp = await client.post(f"{V}/months/{own.id}/return", json={"reason": " "}, headers=w.headers["staff"])
        assert resp.status_code == 422 and (await VisitMonth.get(id=own.id)).status == MonthStatus.SUBMITTED


async def world_visit_late(client, w) -> dict:  # type: ignore[no-untyped-def]
    """An offline visit of day 25 of M, synced now (after the month was submitted)."""
    sent = body(w.h(0, 0, 0), visited_at=day(25).isoformat())
    resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [sent]},
                             headers=w.headers["party"])
    visit = resp.json()["results"][0]["visit"]
    return {**visit, "_sent": sent}


class TestExcel:
    async def test_the_export_opens_and_its_totals_equal_the_api(self, client, fixture):
        w = fixture
        params = {"unit_id": w.tree.community(0).id, "month": M}
        api = (await client.get(f"{V}/report", params=params, headers=w.headers["staff"])).json()
        resp = await client.get(f"{V}/report/export", params=params, headers=w.headers["staff"])
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        book = load_workbook(io.BytesIO(resp.content))
        assert book.sheetnames == ["汇总", "社区1第1网格", "社区1第2网格"]
        summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
        assert summary[0][0] == f"社区1 {YEAR}年{MONTH}月 入户走访台账汇总"
        header = summary.index(["网格", "住户数", "联系户数", "已走访户数", "覆盖率（%）", "走访次数", "未遇次数", "异常打卡",
                                "不予认可", "发现问题", "已解决问题"])
        total_row = next(r for r in summary[header:] if r[0] == "合计")
        t = api["total"]
        assert total_row[1:] == [t["households"], t["assigned"], t["visited"], t["coverage"], t["visits"],
                                 t["not_home"], t["flagged"], t["rejected"], t["problems_found"], t["problems_solved"]]
        for g in api["grids"]:
            rows = [list(r) for r in book[g["name"]].iter_rows(values_only=True)]
            assert rows[1][:4] == ["序号", "楼栋", "门牌号", "联系人"]
            households = [r for r in rows[2:] if isinstance(r[0], int)]
            assert len(households) == g["households"]
            sums = next(r for r in rows if r[0] == "合计")
            assert sums[1] == f"{g['households']}户"
            assert (sums[3], sums[5], sums[7], sums[9], sums[10], sums[11], sums[12]) == (
                g["assigned"], g["visits"], g["not_home"], g["problems_found"], g["problems_solved"], g["flagged"],
                g["visited"])
            assert next(r for r in rows if r[0] == "覆盖率（%）")[1] == g["coverage"]
        a = {r[2]: r for r in ([list(x) for x in book["社区1第1网格"].iter_rows(values_only=True)])}
        assert a["1单元101"][3:8] == ["党员老张", "独居老人（每周1次）", 2, 2, 0]
        assert a["1单元301"][3] == "党员小李" and a["1单元401"][12] == "未分配"
        assert await AuditLog.filter(action="visits:export").count() == 1

    async def test_a_grid_worker_may_export_their_grid_only(self, client, fixture):
        w = fixture
        ok = await client.get(f"{V}/report/export", params={"unit_id": w.tree.grid(0, 0).id, "month": M},
                              headers=w.headers["grid_worker"])
        assert ok.status_code == 200 and load_workbook(io.BytesIO(ok.content)).sheetnames == ["汇总", "社区1第1网格"]
        no = await client.get(f"{V}/report/export", params={"unit_id": w.tree.community(0).id, "month": M},
                              headers=w.headers["grid_worker"])
        assert no.status_code == 404 and await AuditLog.filter(action="visits:export").count() == 1

    @pytest.mark.live
    async def test_the_cli_writes_the_same_workbook_with_progress(self, fixture, database, tmp_path, client):
        w = fixture
        out = tmp_path / "台账.xlsx"
        env = live_env(database.url)
        done = subprocess.run([sys.executable, "-m", "backend.cli", "visits", "export", "--unit",
                               str(w.tree.community(0).id), "--month", M, "-o", str(out)],
                              env={**env, "COLUMNS": "120"}, cwd=os.getcwd(), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert "已写入" in done.stdout and "覆盖率 60.0%" in done.stdout
        assert "8/8" in done.stderr  # the progress bar reached every household
        book = load_workbook(out, read_only=True)
        assert book.sheetnames == ["汇总", "社区1第1网格", "社区1第2网格"]
