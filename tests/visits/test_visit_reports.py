"""Filing a report from a home visit (channel 入户走访, the visit named).

Its visitor, a party member too, files for the visited household (in its resident's name, the real actor
recorded) while the visit is recent; staff whose scope covers the visit file from it at any age; everyone else
gets 404 in the one error shape, and nothing is written. Both routes are checked: POST /reports with
``visit_id``, and the one-tap POST /visits/problems/{id}/report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise import connections

from backend.core.timeutil import utcnow
from backend.models.audit import AuditLog
from backend.models.reports import Channel, Report, ReportEvent
from backend.models.visits import Visit
from tests.visits.conftest import V

R = "/api/v1/reports"
EVERYONE = ("party", "party_2", "party_other", "grid_worker", "grid_worker_other", "leader", "leader_other",
            "staff", "staff_other", "street", "admin", "resident", "volunteer", "nobody")
MAY = {"party", "grid_worker", "leader", "staff", "street", "admin"}  # the visitor, and staff over grid c0g0
VISITORS = set(EVERYONE) - {"resident", "volunteer", "nobody"}  # roles that reach the visits routes at all


async def _counts() -> dict[str, int]:
    conn = connections.get("default")
    return {t: (await conn.execute_query_dict(f"SELECT COUNT(*) AS n FROM {t}"))[0]["n"]
            for t in ("report", "report_event", "audit_log", "visit_event")}


@pytest.fixture
async def found(world):  # type: ignore[no-untyped-def]
    """党员老张 visited 王奶奶's household (assigned to him) an hour ago and found a safety problem."""
    await world.assign("party", world.h(0, 0, 0))
    visit = await world.visit("party", world.h(0, 0, 0), at=utcnow() - timedelta(hours=1), tags=("safety",))
    from backend.models.visits import VisitProblem

    problem = await VisitProblem.get(visit_id=visit.id)
    return visit, problem


def filing(visit: Visit, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"category": "safety.fire", "description": "楼道堆放纸箱，消防隐患", "channel": "visit",
            "visit_id": visit.id, **extra}


class TestScopeMatrix:
    @pytest.mark.parametrize("who", EVERYONE)
    async def test_post_reports_with_a_visit(self, client, world, found, who):
        visit, _ = found
        before = await _counts()
        resp = await client.post(R, json=filing(visit), headers=world.headers[who])
        if who in MAY:
            assert resp.status_code == 201, (who, resp.text)
            report = await Report.get(id=resp.json()["id"])
            assert (report.reporter_id, report.household_id, report.channel, report.filed_by_id) == (
                world["resident"].id, world.h(0, 0, 0).id, Channel.VISIT, world[who].id)
            assert report.grid_id == world.tree.grid(0, 0).id
            assert (report.lat, report.lng) == (world.building(0, 0).lat, world.building(0, 0).lng)
        else:
            assert resp.status_code == 404, (who, resp.text)
            assert resp.json()["error"] == "VisitNotYours"
            assert set(resp.json()) == {"error", "message", "detail"}
            assert "走访" in resp.json()["message"]
            assert await _counts() == before

    @pytest.mark.parametrize("who", EVERYONE)
    async def test_one_tap_from_the_problem(self, client, world, found, who):
        _, problem = found
        before = await _counts()
        resp = await client.post(f"{V}/problems/{problem.id}/report", json={}, headers=world.headers[who])
        if who in MAY:
            assert resp.status_code == 201, (who, resp.text)
            assert resp.json()["reporter_id"] == world["resident"].id and resp.json()["on_behalf"]
        else:
            assert resp.status_code == (404 if who in VISITORS else 403), (who, resp.text)
            assert set(resp.json()) == {"error", "message", "detail"}
            assert await _counts() == before


class TestWhatIsRecorded:
    async def test_the_real_actor_the_subject_and_the_visit(self, client, world, found):
        visit, _ = found
        resp = await client.post(R, json=filing(visit), headers=world.headers["party"])
        assert resp.status_code == 201, resp.text
        rid = resp.json()["id"]
        event = await ReportEvent.get(report_id=rid, action="submit")
        assert (event.actor_id, event.on_behalf_of_id) == (world["party"].id, world["resident"].id)
        assert event.data["channel"] == "visit" and event.data["visit_id"] == visit.id
        log = await AuditLog.get(action="report:file_on_behalf", object_id=str(rid))
        assert (log.actor_id, log.on_behalf_of_id, log.detail["visit_id"]) == (
            world["party"].id, world["resident"].id, visit.id)
        mine = (await client.get(f"{R}/mine", headers=world.headers["resident"])).json()["items"]
        assert [r["id"] for r in mine] == [rid]


class TestRefusals:
    async def test_an_old_visit_is_refused_to_its_visitor_but_not_to_staff(self, client, world):
        await world.assign("party", world.h(0, 0, 0))
        old = await world.visit("party", world.h(0, 0, 0), at=utcnow() - timedelta(days=8), tags=("safety",))
        before = await _counts()
        resp = await client.post(R, json=filing(old), headers=world.headers["party"])
        assert resp.status_code == 409 and resp.json()["error"] == "VisitNotRecent"
        assert "7 天" in resp.json()["message"] and await _counts() == before
        staff = await client.post(R, json=filing(old), headers=world.headers["grid_worker"])
        assert staff.status_code == 201, staff.text

    async def test_the_channel_must_be_the_visit_channel(self, client, world, found):
        visit, _ = found
        resp = await client.post(R, json=filing(visit, channel="app"), headers=world.headers["party"])
        assert resp.status_code == 422 and resp.json()["error"] == "BadChannel"
        assert await Report.all().count() == 0

    async def test_the_visit_channel_without_a_visit_is_still_staff_only(self, client, world, found):
        body = {k: v for k, v in filing(found[0]).items() if k != "visit_id"}
        resp = await client.post(R, json=body, headers=world.headers["party"])
        assert resp.status_code == 422 and resp.json()["error"] == "BadChannel"

    async def test_the_resident_named_must_live_in_the_visited_household(self, client, world, found):
        visit, _ = found
        stranger = world["volunteer"]  # no household
        resp = await client.post(R, json=filing(visit, resident_id=stranger.id),
                                 headers=world.headers["party"])
        assert resp.status_code == 422 and resp.json()["error"] == "BadTarget"
        ok = await client.post(R, json=filing(visit, resident_id=world["resident"].id),
                               headers=world.headers["party"])
        assert ok.status_code == 201
        assert (await Report.get(id=ok.json()["id"])).reporter_id == world["resident"].id

    async def test_an_unknown_visit_is_a_404(self, client, world, found):
        body = {**filing(found[0]), "visit_id": 10**9}
        resp = await client.post(R, json=body, headers=world.headers["party"])
        assert resp.status_code == 404 and resp.json()["error"] == "VisitNotYours"


class TestTheFilerFollowsIt:
    async def test_the_party_member_who_filed_reads_it_without_anyones_personal_data(self, client, world, found):
        visit, _ = found
        filed = await client.post(R, json=filing(visit), headers=world.headers["party"])
        assert filed.status_code == 201, filed.text
        report_id = filed.json()["id"]
        mine = await client.get(f"{R}/{report_id}", headers=world.headers["party"])
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert body["mine"] is False and body["description"] == "楼道堆放纸箱，消防隐患"
        assert body.get("reporter") is None and body.get("filed_by") is None  # the reporter's view: nobody's data
        timeline = await client.get(f"{R}/{report_id}/timeline", headers=world.headers["party"])
        assert timeline.status_code == 200, timeline.text
        for other in ("party_2", "party_other"):
            resp = await client.get(f"{R}/{report_id}", headers=world.headers[other])
            assert resp.status_code == 404, (other, resp.text)
        rate = await client.post(f"{R}/{report_id}/rate", json={"score": 5}, headers=world.headers["party"])
        assert rate.status_code == 403 and rate.json()["error"] == "NotReporter", rate.text  # following, not acting
