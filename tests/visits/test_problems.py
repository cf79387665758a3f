"""A found problem becomes a report in one tap (through the reports service), linked to the visit; or it is solved
on the spot. Tapping twice files nothing twice."""

from __future__ import annotations

from backend.models.reports import Channel, Report, ReportEvent
from backend.models.visits import VisitEvent, VisitProblem
from tests.visits.conftest import V, body


async def _problem(client, world, who: str, household, tags=("safety",)) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    resp = await client.post(V, json=body(household, tags=list(tags), notes="楼道堆满纸箱"), headers=world.headers[who])
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], resp.json()["problems"][0]["id"]


class TestOneTap:
    async def test_staff_file_it_for_the_households_resident(self, client, world):
        vid, pid = await _problem(client, world, "grid_worker", world.h(0, 0, 0))
        resp = await client.post(f"{V}/problems/{pid}/report", json={}, headers=world.headers["grid_worker"])
        assert resp.status_code == 201, resp.text
        out = resp.json()
        assert out["reporter_id"] == world["resident"].id and out["on_behalf"]
        report = await Report.get(id=out["report_id"])
        assert (report.category, report.channel, report.filed_by_id) == ("safety.fire", Channel.VISIT,
                                                                         world["grid_worker"].id)
        assert report.grid_id == world.tree.grid(0, 0).id and "楼道堆满纸箱" in report.description
        assert (await VisitProblem.get(id=pid)).report_id == report.id
        assert await VisitEvent.filter(visit_id=vid, action="report_filed").count() == 1
        detail = (await client.get(f"{V}/{vid}", headers=world.headers["grid_worker"])).json()
        assert detail["problems"][0]["report_id"] == report.id and not detail["problems"][0]["solved"]

    async def test_a_second_tap_files_nothing(self, client, world):
        _, pid = await _problem(client, world, "grid_worker", world.h(0, 0, 0))
        await client.post(f"{V}/problems/{pid}/report", json={}, headers=world.headers["grid_worker"])
        again = await client.post(f"{V}/problems/{pid}/report", json={}, headers=world.headers["grid_worker"])
        assert again.status_code == 409 and again.json()["error"] == "ProblemAlreadyReported"
        assert await Report.all().count() == 1

    async def test_a_party_member_files_it_for_the_household_with_the_visit_channel(self, client, world):
        await world.assign("party", world.h(0, 0, 0))
        vid, pid = await _problem(client, world, "party", world.h(0, 0, 0), tags=("dispute",))
        resp = await client.post(f"{V}/problems/{pid}/report", headers=world.headers["party"],
                                 json={"category": "neighbours.noise", "description": "楼上装修噪音，邻里有矛盾"})
        assert resp.status_code == 201, resp.text
        assert resp.json()["reporter_id"] == world["resident"].id and resp.json()["on_behalf"]
        report = await Report.get(id=resp.json()["report_id"])
        assert (report.channel, report.category, report.filed_by_id, report.household_id) == (
            Channel.VISIT, "neighbours.noise", world["party"].id, world.h(0, 0, 0).id)
        event = await ReportEvent.get(report_id=report.id, action="submit")
        assert (event.actor_id, event.on_behalf_of_id, event.data["visit_id"]) == (
            world["party"].id, world["resident"].id, vid)

    async def test_without_a_resident_account_the_party_member_files_in_their_name(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        _, pid = await _problem(client, world, "party", world.h(0, 0, 1), tags=("dispute",))
        resp = await client.post(f"{V}/problems/{pid}/report", headers=world.headers["party"], json={})
        assert resp.status_code == 201, resp.text
        report = await Report.get(id=resp.json()["report_id"])
        assert (report.reporter_id, report.channel, report.household_id) == (
            world["party"].id, Channel.VISIT, world.h(0, 0, 1).id)

    async def test_an_unknown_category_files_nothing(self, client, world):
        _, pid = await _problem(client, world, "grid_worker", world.h(0, 0, 0))
        resp = await client.post(f"{V}/problems/{pid}/report", json={"category": "nothing.here"},
                                 headers=world.headers["grid_worker"])
        assert resp.status_code == 422 and await Report.all().count() == 0
        assert (await VisitProblem.get(id=pid)).report_id is None


class TestSolvedOnTheSpot:
    async def test_solve_once(self, client, world):
        vid, pid = await _problem(client, world, "grid_worker", world.h(0, 0, 3))
        resp = await client.post(f"{V}/problems/{pid}/solve", json={"note": "已帮忙清走纸箱"},
                                 headers=world.headers["grid_worker"])
        assert resp.status_code == 200 and resp.json()["solved"] and resp.json()["solve_note"] == "已帮忙清走纸箱"
        again = await client.post(f"{V}/problems/{pid}/solve", json={"note": "再来"}, headers=world.headers["grid_worker"])
        assert again.status_code == 409 and again.json()["error"] == "ProblemAlreadySolved"
        assert await VisitEvent.filter(visit_id=vid, action="problem_solved").count() == 1

    async def test_others_cannot_see_the_problem(self, client, world):
        _, pid = await _problem(client, world, "grid_worker", world.h(0, 0, 3))
        for who in ("party", "grid_worker_other", "staff_other"):
            resp = await client.post(f"{V}/problems/{pid}/solve", json={"note": "x"}, headers=world.headers[who])
            assert resp.status_code == 404
        assert (await VisitProblem.get(id=pid)).solved_at is None
