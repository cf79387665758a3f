"""吹哨报到 (departments summoned, reporting in, progress, lateness) and 议 (deliberation with a household vote,
the decision on the report's timeline)."""

from __future__ import annotations

from backend.models.notifications import InboxItem
from backend.models.reports import DeliberationVote, ReportEvent, WhistleTarget
from tests.builders import make_department
from tests.reports.conftest import fire_clocks


async def _whistle(world, rid: int, *departments: int, who: str = "community_staff", expect: int = 201):  # type: ignore[no-untyped-def]
    resp = await world.client.post(
        f"/api/v1/reports/{rid}/whistles",
        headers=world.headers[who],
        json={
            "department_ids": list(departments) or [world.departments[0].id],
            "note": "请城管协调清运",
            "deadline_hours": 48,
        },
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


class TestWhistle:
    async def test_departments_are_summoned_report_in_and_post_progress(self, world):
        rid = (await world.report("resident"))["id"]
        whistle = await _whistle(world, rid, *(d.id for d in world.departments))
        assert [t["status"] for t in whistle["targets"]] == ["summoned", "summoned"]
        told = set(await InboxItem.filter(kind="report.whistle").values_list("user_id", flat=True))
        assert told == {world["department"].id, world["department_b"].id}

        listed = (await world.get("department", "/api/v1/reports/whistle-targets")).json()["items"]
        assert [t["department_name"] for t in listed] == ["城管执法队"]
        target = listed[0]["id"]
        detail = (await world.get("department", f"/api/v1/reports/{rid}")).json()
        assert detail["description"] and "****" in detail["reporter"]["phone"]

        ack = await world.client.post(
            f"/api/v1/reports/whistle-targets/{target}/acknowledge", headers=world.headers["department"]
        )
        assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
        again = await world.client.post(
            f"/api/v1/reports/whistle-targets/{target}/acknowledge", headers=world.headers["department"]
        )
        assert again.status_code == 409
        done = await world.client.post(
            f"/api/v1/reports/whistle-targets/{target}/progress",
            headers=world.headers["department"],
            json={"note": "已清运完毕", "done": True},
        )
        assert done.json()["status"] == "done"
        actions = [e.action for e in await ReportEvent.filter(report_id=rid).order_by("id")]
        assert actions == ["submit", "whistle", "whistle_ack", "whistle_progress"]
        timeline = (await world.get("resident", f"/api/v1/reports/{rid}/timeline")).json()
        assert timeline[-1]["actor_label"] == "城管执法队"

    async def test_only_the_summoned_department_acts_and_only_community_staff_whistle(self, world):
        rid = (await world.report("resident"))["id"]
        await _whistle(world, rid, who="grid_worker", expect=403)
        whistle = await _whistle(world, rid)
        target = whistle["targets"][0]["id"]
        other = await world.client.post(
            f"/api/v1/reports/whistle-targets/{target}/acknowledge", headers=world.headers["department_b"]
        )
        assert other.status_code == 404  # another department does not even see it
        assert (await world.get("department_b", f"/api/v1/reports/{rid}", expect=404)).json()[
            "error"
        ] == "ReportNotFound"

    async def test_departments_of_another_street_cannot_be_summoned(self, world):
        from backend.models.org import OrgLevel
        from tests.builders import make_unit

        elsewhere = await make_department(await make_unit(OrgLevel.STREET, "别的街道"), "别处城管")
        rid = (await world.report("resident"))["id"]
        assert (await _whistle(world, rid, elsewhere.id, expect=422))["error"] == "BadTarget"

    async def test_late_departments_are_marked_once_and_told_with_the_whistle_blower(
        self, world, settings, bus
    ):
        rid = (await world.report("resident"))["id"]
        await _whistle(world, rid, *(d.id for d in world.departments))
        first = await WhistleTarget.filter(department_id=world.departments[0].id).first()
        await world.client.post(
            f"/api/v1/reports/whistle-targets/{first.id}/acknowledge", headers=world.headers["department"]
        )
        await fire_clocks(settings, bus, kinds=("reports.whistle_clock",))
        await fire_clocks(settings, bus, kinds=("reports.whistle_clock",))  # nothing left to mark
        targets = {t.department_id: t for t in await WhistleTarget.all()}
        assert (targets[world.departments[0].id].late_ack, targets[world.departments[0].id].late) == (
            False,
            True,
        )
        assert (targets[world.departments[1].id].late_ack, targets[world.departments[1].id].late) == (
            True,
            True,
        )
        assert await ReportEvent.filter(report_id=rid, action="whistle_late").count() == 3
        told = set(await InboxItem.filter(kind="report.whistle_late").values_list("user_id", flat=True))
        assert told == {world["department"].id, world["department_b"].id, world["community_staff"].id}
        listed = (await world.get("community_staff", f"/api/v1/reports/{rid}/whistles")).json()
        assert sorted((t["late_ack"], t["late"]) for t in listed[0]["targets"]) == [
            (False, True),
            (True, True),
        ]

    async def test_nobody_is_late_once_the_report_was_resolved(self, world, settings, bus):
        rid = (await world.report("resident"))["id"]
        await _whistle(world, rid)
        await world.act("grid_worker", rid, "resolve", note="已处理")
        await fire_clocks(settings, bus, kinds=("reports.whistle_clock",))
        target = await WhistleTarget.get(report_id=rid)
        assert (target.late_ack, target.late) == (False, False)
        assert not await ReportEvent.filter(report_id=rid, action="whistle_late").exists()

    async def test_no_whistle_on_a_closed_report(self, world):
        rid = (await world.report("resident"))["id"]
        await world.act("grid_worker", rid, "resolve", note="已处理")
        assert (await _whistle(world, rid, expect=409))["error"] == "InvalidTransition"


async def _open(world, rid: int, **extra):  # type: ignore[no-untyped-def]
    body = {
        "kind": "residents_council",
        "topic": "是否在3号楼旁增设垃圾投放点",
        "participants": ["居民代表甲", "物业经理"],
        **extra,
    }
    return await world.client.post(
        f"/api/v1/reports/{rid}/deliberations", headers=world.headers["community_staff"], json=body
    )


class TestDeliberation:
    async def test_one_vote_per_household_and_the_decision_lands_on_the_timeline(self, world):
        rid = (await world.report("resident"))["id"]
        opened = await _open(world, rid, vote_options=["同意", "不同意"], vote_hours=24)
        assert opened.status_code == 201, opened.text
        did = opened.json()["id"]
        listed = (await world.get("resident_b", "/api/v1/reports/deliberations")).json()
        assert [d["id"] for d in listed] == [did] and listed[0]["minutes"] is None

        vote = lambda who, option: world.client.post(  # noqa: E731
            f"/api/v1/reports/deliberations/{did}/votes", headers=world.headers[who], json={"option": option}
        )
        assert (await vote("resident", "同意")).status_code == 201
        assert (await vote("neighbour", "不同意")).status_code == 201  # the household next door
        twice = await vote("resident", "不同意")
        assert twice.status_code == 409 and twice.json()["error"] == "AlreadyVoted"
        assert (await vote("outsider", "同意")).status_code == 404  # another community does not see it
        assert (await vote("resident_b", "弃权")).json()["error"] == "BadVoteOption"
        assert await DeliberationVote.filter(deliberation_id=did).count() == 2

        decided = await world.client.post(
            f"/api/v1/reports/deliberations/{did}/decision",
            headers=world.headers["community_staff"],
            json={"minutes": "会议纪要……", "decision": "增设投放点，由物业负责清运"},
        )
        assert decided.status_code == 200 and decided.json()["tally"] == {"同意": 1, "不同意": 1}
        timeline = (await world.get("resident", f"/api/v1/reports/{rid}/timeline")).json()
        assert timeline[-1]["action"] == "deliberation_decided"
        assert timeline[-1]["note"] == "增设投放点，由物业负责清运"
        assert (await vote("resident_b", "同意")).json()["error"] == "VotingClosed"

    async def test_two_residents_of_one_household_share_one_vote(self, world):
        from backend.models.user import Role
        from tests.builders import make_user

        await world.login(
            "spouse",
            await make_user(Role.RESIDENT, world.tree.community(0), household=world.tree.household(0, 0, 0)),
        )
        rid = (await world.report("resident"))["id"]
        did = (await _open(world, rid, vote_options=["同意", "不同意"], vote_hours=24)).json()["id"]
        votes = [
            await world.client.post(
                f"/api/v1/reports/deliberations/{did}/votes",
                headers=world.headers[who],
                json={"option": option},
            )
            for who, option in (("resident", "同意"), ("spouse", "不同意"))
        ]
        assert [v.status_code for v in votes] == [201, 409]

    async def test_street_community_deliberations_are_the_streets(self, world):
        rid = (await world.report("resident"))["id"]
        resp = await _open(world, rid, kind="street_community")
        assert resp.status_code == 403 and resp.json()["error"] == "NotCommunityStaff"
        ok = await world.client.post(
            f"/api/v1/reports/{rid}/deliberations",
            headers=world.headers["street_staff"],
            json={"kind": "street_community", "topic": "跨社区停车治理"},
        )
        assert ok.status_code == 201
