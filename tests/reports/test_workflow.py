"""办 and 评: graded handling (accept, ask for information, resolve, escalate, reassign, merge, withdraw),
ratings that close or reopen one level up, organisational evaluations, and the timeline."""

from __future__ import annotations

from backend.models.audit import AuditLog
from backend.models.notifications import InboxItem
from backend.models.outbox import OutboxEvent
from backend.models.reports import (
    Clock,
    Level,
    Report,
    ReportEvent,
    ReportRating,
    ReportStatus,
    ReportSupport,
)
from backend.users.merge import run_merge_hooks
from tests.builders import make_user
from tests.reports.conftest import point_in


async def _actions(report_id: int) -> list[str]:
    return [e.action for e in await ReportEvent.filter(report_id=report_id).order_by("id")]


class TestHandling:
    async def test_accept_request_info_provide_resolve_rate(self, world):
        rid = (await world.report("resident"))["id"]
        accepted = (await world.act("grid_worker", rid, "accept", note="马上去看")).json()
        assert accepted["status"] == "accepted" and accepted["can_handle"] is True
        row = await Report.get(id=rid)
        assert row.assignee_id == world["grid_worker"].id and row.clock == Clock.RESOLVE and row.responded_at

        await world.act("grid_worker", rid, "request-info", question="是哪个垃圾桶？")
        row = await Report.get(id=rid)
        assert row.status == ReportStatus.NEED_INFO and row.clock is None and row.paused_seconds > 0
        await world.act("resident", rid, "provide-info", note="3号楼东侧那个")
        await world.act("grid_worker", rid, "resolve", note="已清运", public_note="已清运并增加清运频次")
        closed = (await world.act("resident", rid, "rate", score=5, comment="很及时")).json()
        assert closed["status"] == "closed" and closed["rating"] == 5
        assert await _actions(rid) == ["submit", "accept", "request_info", "provide_info", "resolve", "close"]
        told = await InboxItem.filter(user_id=world["resident"].id, kind="report.status").count()
        assert told == 3  # accepted, asked for information, resolved (not for what the resident did)

    async def test_a_resident_cannot_handle_and_another_grid_cannot_see(self, world):
        rid = (await world.report("resident"))["id"]
        mine = await world.act("resident", rid, "accept", expect=403)
        assert mine.json()["error"] == "NotHandler"
        other = await world.act("grid_worker_b", rid, "accept", expect=404)
        assert other.json()["error"] == "ReportNotFound"

    async def test_an_edge_not_in_the_table_is_refused(self, world):
        rid = (await world.report("resident"))["id"]
        for action, body in [("resolve", {"note": "x"})]:
            await world.act("grid_worker", rid, action, **body)
        resp = await world.act("grid_worker", rid, "accept", expect=409)
        assert resp.json()["error"] == "InvalidTransition"
        assert resp.json()["detail"]["status"] == "resolved"
        assert (await world.act("resident", rid, "withdraw", expect=409)).json()[
            "error"
        ] == "InvalidTransition"

    async def test_a_stale_version_is_refused(self, world):
        rid = (await world.report("resident"))["id"]
        resp = await world.act("grid_worker", rid, "accept", version=7, expect=409)
        assert resp.json()["error"] == "ReportChanged"
        await world.act("grid_worker", rid, "accept", version=1)

    async def test_escalation_moves_the_report_and_who_may_handle_it(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "escalate", reason="涉及多个小区，需社区协调")
        row = await Report.get(id=rid)
        assert (row.level, row.status, row.escalations, row.was_overdue) == (
            Level.COMMUNITY,
            "submitted",
            1,
            False,
        )
        assert (await world.act("grid_worker", rid, "accept", expect=403)).json()["error"] == "NotHandler"
        told = set(await InboxItem.filter(kind="report.escalated").values_list("user_id", flat=True))
        assert told == {world["community_staff"].id}
        await world.act("community_staff", rid, "escalate", reason="需要街道协调")
        assert (await world.act("street_staff", rid, "escalate", reason="再往上", expect=409)).json()[
            "error"
        ] == "InvalidTransition"
        await world.act("street_staff", rid, "accept")

    async def test_withdraw_before_acceptance(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("resident", rid, "withdraw", reason="已经自己解决了")
        assert (await Report.get(id=rid)).status == ReportStatus.WITHDRAWN
        assert await OutboxEvent.filter(kind="reports.clock").count() == 1  # no new clock after withdrawal

    async def test_reassign_within_scope(self, world):
        rid = (await world.report("resident"))["id"]
        bad = await world.act(
            "grid_worker", rid, "reassign", unit_id=world.grid(0, 1).id, reason="不是我的网格", expect=422
        )
        assert bad.json()["error"] == "BadTarget"  # a grid worker cannot reach another grid
        await world.act("community_staff", rid, "reassign", unit_id=world.grid(0, 1).id, reason="位置在2网格")
        row = await Report.get(id=rid)
        assert row.grid_id == world.grid(0, 1).id and row.level == Level.GRID and row.building_id is None
        await world.act("grid_worker", rid, "accept", expect=404)
        await world.act("grid_worker_b", rid, "accept")
        outside = await world.act(
            "community_staff", rid, "reassign", unit_id=world.grid(1, 0).id, reason="x", expect=422
        )
        assert outside.json()["error"] == "BadTarget"

    async def test_merge_duplicates(self, world):
        original = (await world.report("resident"))["id"]
        duplicate = (await world.report("neighbour"))["id"]
        await world.client.post(f"/api/v1/reports/{duplicate}/support", headers=world.headers["resident_b"])
        merged = (await world.act("grid_worker", duplicate, "merge", into_report_id=original)).json()
        assert merged["status"] == "merged" and merged["merged_into_id"] == original
        supporters = set(await ReportSupport.filter(report_id=original).values_list("user_id", flat=True))
        assert supporters == {world["neighbour"].id, world["resident_b"].id}
        assert (await Report.get(id=original)).support_count == 2
        assert "merged_in" in await _actions(original)
        again = await world.act("grid_worker", original, "merge", into_report_id=duplicate, expect=409)
        assert again.json()["error"] == "CannotMerge"


class TestRating:
    async def test_a_bad_rating_reopens_one_level_up_and_the_new_result_is_rated_again(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "accept")
        await world.act("grid_worker", rid, "resolve", note="已处理")
        reopened = (await world.act("resident", rid, "rate", score=2, comment="根本没处理")).json()
        assert (reopened["status"], reopened["level"]) == ("submitted", "community")
        assert (await world.act("resident", rid, "rate", score=1, expect=409)).json()[
            "error"
        ] == "InvalidTransition"
        await world.act("community_staff", rid, "accept")
        await world.act("community_staff", rid, "resolve", note="社区协调物业清运")
        await world.act("resident", rid, "rate", score=4)
        ratings = await ReportRating.filter(report_id=rid).order_by("round")
        assert [(r.round, r.score) for r in ratings] == [(0, 2), (1, 4)]
        assert (await Report.get(id=rid)).status == ReportStatus.CLOSED

    async def test_one_rating_per_round_even_when_racing(self, world):
        import asyncio

        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "resolve", note="已处理")
        results = await asyncio.gather(
            *(world.act("resident", rid, "rate", score=5, expect=None) for _ in range(4))
        )
        assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
        assert await ReportRating.filter(report_id=rid).count() == 1

    async def test_staff_record_a_rating_taken_by_phone(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "resolve", note="已处理")
        await world.act("community_staff", rid, "rate", score=3, comment="电话回访：基本满意")
        rating = await ReportRating.get(report_id=rid)
        assert (rating.channel, rating.rated_by_id, rating.on_behalf_of_id) == (
            "phone",
            world["community_staff"].id,
            world["resident"].id,
        )
        assert await AuditLog.exists(action="report:rate_by_phone", object_id=str(rid))

    async def test_only_the_reporter_or_staff_rate(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "resolve", note="已处理")
        assert (await world.act("neighbour", rid, "rate", score=5, expect=404)).json()[
            "error"
        ] == "ReportNotFound"

    async def test_the_community_evaluates_the_handler_once_per_kind(self, world):
        rid = (await world.report("resident"))["id"]
        early = await world.act(
            "community_staff", rid, "evaluations", kind="organisational", score=90, expect=409
        )
        assert early.json()["error"] == "InvalidTransition"
        await world.act("grid_worker", rid, "accept")
        await world.act("grid_worker", rid, "resolve", note="已处理")
        resp = await world.act(
            "community_staff", rid, "evaluations", kind="organisational", score=90, expect=201
        )
        assert resp.json()["subject_user_id"] == world["grid_worker"].id
        await world.act("community_staff", rid, "evaluations", kind="organisational", score=80, expect=409)
        await world.act("community_staff", rid, "evaluations", kind="special", score=85, expect=201)
        assert (
            await world.act("grid_worker", rid, "evaluations", kind="special", score=1, expect=403)
        ).json()["error"] == "NotCommunityStaff"


class TestTimeline:
    async def test_the_resident_sees_the_public_timeline_staff_see_everything(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "accept")
        await world.act("grid_worker", rid, "resolve", note="已清运")
        await world.act("community_staff", rid, "evaluations", kind="special", score=80, expect=201)
        public = (await world.get("resident", f"/api/v1/reports/{rid}/timeline")).json()
        assert [e["action"] for e in public] == ["submit", "accept", "resolve"]
        assert public[0]["actor_label"] == "我" and public[1]["actor_label"] == "工作人员 网格员甲"
        assert all(e["actor_id"] is None and e["data"] is None for e in public)
        full = (await world.get("community_staff", f"/api/v1/reports/{rid}/timeline")).json()
        assert [e["action"] for e in full] == ["submit", "accept", "resolve", "evaluation"]
        assert full[1]["actor_id"] == world["grid_worker"].id

    async def test_the_reporter_phone_is_masked_unless_revealed_with_a_trace(self, world):
        rid = (await world.report("resident"))["id"]
        masked = (await world.get("grid_worker", f"/api/v1/reports/{rid}")).json()["reporter"]
        assert "****" in masked["phone"]
        clear = (await world.get("grid_worker", f"/api/v1/reports/{rid}", reveal="true")).json()["reporter"]
        assert clear["phone"] == world["resident"].phone
        assert await AuditLog.exists(
            action="reveal:phone", object_id=str(rid), actor_id=world["grid_worker"].id
        )
        own = (await world.get("resident", f"/api/v1/reports/{rid}", reveal="true")).json()
        assert own["reporter"] is None


class TestUserMerge:
    async def test_a_placeholders_reports_follow_the_real_account(self, world):
        placeholder = await make_user(name="代登记", household=world.tree.household(0, 0, 0))
        rid = (await world.report("grid_worker", resident_id=world["resident"].id, channel="phone"))["id"]
        await Report.filter(id=rid).update(reporter_id=placeholder.id)
        other = (await world.report("resident"))["id"]
        await ReportSupport.create(report_id=other, user_id=placeholder.id)
        await run_merge_hooks(placeholder.id, world["resident"].id)
        assert (await Report.get(id=rid)).reporter_id == world["resident"].id
        assert not await ReportSupport.filter(user_id=placeholder.id).exists()
        mine = (await world.get("resident", "/api/v1/reports/mine")).json()["items"]
        assert {r["id"] for r in mine} == {rid, other}


class TestQueues:
    async def test_new_mine_and_overdue(self, world):
        a = (await world.report("resident"))["id"]
        b = (await world.report("resident", **point_in(1)))["id"]  # grid 1
        c = (await world.report("resident", category="safety.fire"))["id"]  # community level
        new = (await world.get("grid_worker", "/api/v1/reports/queue", view="new")).json()["items"]
        assert [r["id"] for r in new] == [a]
        staff_new = (await world.get("community_staff", "/api/v1/reports/queue", view="new")).json()["items"]
        assert {r["id"] for r in staff_new} == {a, b, c}
        await world.act("grid_worker", a, "accept")
        mine = (await world.get("grid_worker", "/api/v1/reports/queue", view="mine")).json()["items"]
        assert [r["id"] for r in mine] == [a]
        from datetime import timedelta

        from backend.core.timeutil import utcnow

        await Report.filter(id=a).update(due_at=utcnow() - timedelta(minutes=1))
        late = (await world.get("grid_worker", "/api/v1/reports/queue", view="overdue")).json()["items"]
        assert [r["id"] for r in late] == [a] and late[0]["overdue"] is True

    async def test_queues_are_for_staff(self, world):
        await world.get("resident", "/api/v1/reports/queue", expect=403)
        await world.get("department", "/api/v1/reports/queue", expect=403)
