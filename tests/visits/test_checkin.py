"""Check-ins: the geofence and the clock flag what does not add up, with the numbers, and keep the visit; resends
are harmless; conflicting edits are surfaced, never overwritten."""

from __future__ import annotations

import uuid
from datetime import timedelta

from backend.core.timeutil import utcnow
from backend.models.audit import AuditLog
from backend.models.visits import Visit, VisitEvent, VisitProblem
from tests.visits.conftest import CENTER, V, body


async def _flags(resp) -> dict:  # type: ignore[no-untyped-def]
    return {f["code"]: f for f in resp.json()["flags"]}


class TestGeofence:
    async def test_at_the_building_is_clean(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(V, json=body(world.h(0, 0, 1)), headers=world.headers["party"])
        assert resp.status_code == 201, resp.text
        out = resp.json()
        assert (out["flagged"], out["out_of_fence"], out["flags"], out["distance_m"]) == (False, False, [], 0)
        assert out["fence_m"] == 150 and out["household_label"] == "1号楼 1单元201"

    async def test_far_from_the_building_is_kept_and_flagged_with_the_distance(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        # 0.005° of latitude north of the building: 556 m
        resp = await client.post(V, json=body(world.h(0, 0, 1), lat=CENTER[0] + 0.005, accuracy_m=30),
                                 headers=world.headers["party"])
        assert resp.status_code == 201
        out = resp.json()
        assert out["flagged"] and out["out_of_fence"] and out["distance_m"] == 556
        flag = (await _flags(resp))["out_of_fence"]
        assert flag["data"] == {"distance_m": 556, "fence_m": 150, "accuracy_m": 30}
        assert "556 米" in flag["message"] and "150 米" in flag["message"]
        stored = await Visit.get(id=out["id"])
        assert stored.out_of_fence and stored.distance_m == 556.0 or round(stored.distance_m) == 556

    async def test_the_community_policy_sets_the_fence(self, client, world):
        rules = [{"name": "全部住户", "per": "month", "times": 1}]
        resp = await client.put(f"{V}/policies/{world.tree.community(0).id}", json={"rules": rules, "fence_m": 600},
                                headers=world.headers["staff"])
        assert resp.status_code == 200, resp.text
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(V, json=body(world.h(0, 0, 1), lat=CENTER[0] + 0.005), headers=world.headers["party"])
        assert resp.json()["fence_m"] == 600 and not resp.json()["out_of_fence"]

    async def test_poor_accuracy_and_missing_position_are_flagged(self, client, world):
        await world.assign("party", world.h(0, 0, 1), world.h(0, 0, 2))
        resp = await client.post(V, json=body(world.h(0, 0, 1), accuracy_m=800), headers=world.headers["party"])
        assert (await _flags(resp))["low_accuracy"]["data"] == {"accuracy_m": 800, "fence_m": 150}
        resp = await client.post(V, json=body(world.h(0, 0, 2), lat=None, lng=None, accuracy_m=None),
                                 headers=world.headers["party"])
        assert resp.status_code == 201 and resp.json()["flagged"]
        assert set(await _flags(resp)) == {"no_position"}

    async def test_a_building_without_coordinates_cannot_be_checked_and_says_so(self, client, world):
        from backend.models.org import OrgUnit

        await OrgUnit.filter(id=world.building(0, 0).id).update(lat=None, lng=None)
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(V, json=body(world.h(0, 0, 1)), headers=world.headers["party"])
        assert set(await _flags(resp)) == {"unplaced_building"} and resp.json()["distance_m"] is None


class TestClock:
    async def test_a_phone_two_hours_fast_is_flagged_and_corrected(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        now = utcnow()
        phone = now + timedelta(hours=2)
        resp = await client.post(V, json=body(world.h(0, 0, 1), visited_at=(phone - timedelta(minutes=5)).isoformat(),
                                              sent_at=phone.isoformat()), headers=world.headers["party"])
        assert resp.status_code == 201
        out = resp.json()
        flag = (await _flags(resp))["clock_skew"]
        assert 7195 <= flag["data"]["skew_seconds"] <= 7200 and flag["data"]["threshold_seconds"] == 300
        assert "快 2 小时" in flag["message"]
        assert 7195 <= out["skew_seconds"] <= 7200
        stored = await Visit.get(id=out["id"])
        # counted at the server's time of the visit (5 minutes before it arrived), not the phone's
        assert abs((stored.effective_at - (now - timedelta(minutes=5))).total_seconds()) < 5
        assert stored.visited_at > now + timedelta(hours=1)  # what the phone said is kept

    async def test_a_slow_phone_is_flagged_too(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        phone = utcnow() - timedelta(days=1, minutes=30)
        resp = await client.post(V, json=body(world.h(0, 0, 1), visited_at=phone.isoformat(), sent_at=phone.isoformat()),
                                 headers=world.headers["party"])
        flag = (await _flags(resp))["clock_skew"]
        assert -88200 <= flag["data"]["skew_seconds"] <= -88195 and "慢 1 天 30 分" in flag["message"]
        assert "late_sync" not in await _flags(resp)  # corrected: the visit was not late at all

    async def test_within_the_tolerance_nothing_is_flagged(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        phone = utcnow() + timedelta(seconds=90)
        resp = await client.post(V, json=body(world.h(0, 0, 1), visited_at=phone.isoformat(), sent_at=phone.isoformat()),
                                 headers=world.headers["party"])
        assert resp.json()["flags"] == [] and 85 <= resp.json()["skew_seconds"] <= 90

    async def test_a_visit_in_the_future_without_send_time_is_flagged_and_clamped(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(V, json=body(world.h(0, 0, 1), visited_at=(utcnow() + timedelta(hours=3)).isoformat()),
                                 headers=world.headers["party"])
        flag = (await _flags(resp))["future_time"]
        assert 10795 <= flag["data"]["ahead_seconds"] <= 10800
        stored = await Visit.get(id=resp.json()["id"])
        assert stored.effective_at <= stored.received_at

    async def test_a_visit_synced_days_later_is_flagged(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        when = utcnow() - timedelta(days=4)
        resp = await client.post(V, json=body(world.h(0, 0, 1), visited_at=when.isoformat(),
                                              sent_at=utcnow().isoformat()), headers=world.headers["party"])
        assert 95.9 <= (await _flags(resp))["late_sync"]["data"]["delay_hours"] <= 96.1


class TestResends:
    async def test_the_same_visit_twice_is_stored_once(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        data = body(world.h(0, 0, 1), tags=["safety"])
        first = await client.post(V, json=data, headers=world.headers["party"])
        second = await client.post(V, json=data, headers=world.headers["party"])
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["id"] == second.json()["id"]
        assert await Visit.all().count() == 1 and await VisitProblem.all().count() == 1

    async def test_different_content_under_the_same_client_id_is_a_conflict(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        data = body(world.h(0, 0, 1), notes="一切正常")
        await client.post(V, json=data, headers=world.headers["party"])
        resp = await client.post(V, json={**data, "notes": "老人说腿疼"}, headers=world.headers["party"])
        assert resp.status_code == 409 and resp.json()["error"] == "VisitConflict"
        assert resp.json()["detail"] == {"reason": "different_content", "fields": ["notes"], "server_version": 1}
        assert (await Visit.get()).notes == "一切正常"

    async def test_someone_elses_client_id_is_refused_without_showing_their_visit(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        data = body(world.h(0, 0, 1), notes="私密")
        await client.post(V, json=data, headers=world.headers["party"])
        resp = await client.post(V, json=data, headers=world.headers["grid_worker"])
        assert resp.status_code == 409 and resp.json()["error"] == "ClientIdTaken" and "私密" not in resp.text


class TestSyncBatch:
    async def test_each_item_gets_its_outcome_in_order(self, client, world):
        await world.assign("party", world.h(0, 0, 1), world.h(0, 0, 2))
        a = body(world.h(0, 0, 1))
        await client.post(V, json=a, headers=world.headers["party"])
        items = [a, {**a, "notes": "改了"}, body(world.h(0, 0, 2)), body(world.h(1, 0, 1))]
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": items},
                                 headers=world.headers["party"])
        assert resp.status_code == 200, resp.text
        results = resp.json()["results"]
        assert [r["outcome"] for r in results] == ["duplicate", "conflict", "created", "rejected"]
        assert results[1]["conflict"]["reason"] == "different_content" and results[1]["visit"]["notes"] is None
        assert results[3]["error"]["error"] == "HouseholdNotFound" and results[3]["visit"] is None
        assert [r["client_id"] for r in results] == [i["client_id"] for i in items]
        assert await Visit.all().count() == 2

    async def test_a_skewed_batch_says_so_and_flags_every_new_visit(self, client, world):
        await world.assign("party", world.h(0, 0, 1), world.h(0, 0, 2))
        phone = utcnow() - timedelta(hours=6)
        items = [body(world.h(0, 0, i), visited_at=(phone - timedelta(hours=i)).isoformat()) for i in (1, 2)]
        resp = await client.post(f"{V}/sync", json={"sent_at": phone.isoformat(), "items": items},
                                 headers=world.headers["party"])
        out = resp.json()
        assert out["clock_skewed"] and -21605 <= out["skew_seconds"] <= -21595
        for r in out["results"]:
            assert r["outcome"] == "created" and "clock_skew" in {f["code"] for f in r["visit"]["flags"]}

    async def test_an_edit_on_the_current_version_is_applied_with_history(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        a = body(world.h(0, 0, 1), tags=["safety"], at_home=False)
        created = (await client.post(V, json=a, headers=world.headers["party"])).json()
        edit = {**a, "at_home": True, "tags": ["dispute"], "notes": "补记", "base_version": 1}
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [edit]},
                                 headers=world.headers["party"])
        r = resp.json()["results"][0]
        assert r["outcome"] == "updated" and r["visit"]["version"] == 2 and r["visit"]["at_home"]
        assert [p["tag"] for p in r["visit"]["problems"]] == ["dispute"]
        events = await VisitEvent.filter(visit_id=created["id"]).order_by("id")
        assert [e.action for e in events] == ["created", "edited"]
        assert events[1].data["before"]["at_home"] is False and events[1].data["fields"] == ["at_home", "notes", "tags"]
        # the same edit resent is harmless
        again = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [edit]},
                                  headers=world.headers["party"])
        assert again.json()["results"][0]["outcome"] == "duplicate"

    async def test_an_edit_based_on_an_older_version_is_surfaced_not_applied(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        a = body(world.h(0, 0, 1))
        await client.post(V, json=a, headers=world.headers["party"])
        sync = f"{V}/sync"
        first = {**a, "notes": "手机甲的修改", "base_version": 1}
        second = {**a, "notes": "手机乙的修改", "base_version": 1}
        await client.post(sync, json={"sent_at": utcnow().isoformat(), "items": [first]}, headers=world.headers["party"])
        resp = await client.post(sync, json={"sent_at": utcnow().isoformat(), "items": [second]},
                                 headers=world.headers["party"])
        r = resp.json()["results"][0]
        assert r["outcome"] == "conflict" and r["conflict"]["reason"] == "stale_version"
        assert r["conflict"]["server_version"] == 2 and r["visit"]["notes"] == "手机甲的修改"
        assert "更新" in r["conflict"]["message"]
        assert (await Visit.get()).notes == "手机甲的修改"

    async def test_place_and_time_cannot_be_edited(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        a = body(world.h(0, 0, 1))
        await client.post(V, json=a, headers=world.headers["party"])
        moved = {**a, "lat": CENTER[0] + 0.001, "base_version": 1}
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [moved]},
                                 headers=world.headers["party"])
        r = resp.json()["results"][0]
        assert (r["outcome"], r["conflict"]["reason"], r["conflict"]["fields"]) == ("conflict", "immutable_changed", ["lat"])

    async def test_a_new_visit_sent_with_a_version_is_still_taken(self, client, world):
        """The phone thinks it synced, the server never got it: nothing is lost."""
        await world.assign("party", world.h(0, 0, 1))
        resp = await client.post(f"{V}/sync", json={"sent_at": utcnow().isoformat(), "items": [
            body(world.h(0, 0, 1), base_version=3)]}, headers=world.headers["party"])
        assert resp.json()["results"][0]["outcome"] == "created"


class TestWhoMayCheckIn:
    async def test_a_party_member_only_at_their_households(self, client, world):
        resp = await client.post(V, json=body(world.h(0, 0, 1)), headers=world.headers["party"])
        assert resp.status_code == 404 and resp.json()["error"] == "HouseholdNotFound"
        assert await Visit.all().count() == 0

    async def test_a_grid_worker_anywhere_in_the_grid(self, client, world):
        resp = await client.post(V, json=body(world.h(0, 0, 3)), headers=world.headers["grid_worker"])
        assert resp.status_code == 201
        other_grid = world.h(0, 1, 0)
        resp = await client.post(V, json=body(other_grid), headers=world.headers["grid_worker"])
        assert resp.status_code == 404

    async def test_residents_and_volunteers_cannot(self, client, world):
        for who in ("resident", "volunteer", "nobody"):
            resp = await client.post(V, json=body(world.h(0, 0, 0)), headers=world.headers[who])
            assert resp.status_code == 403
        assert await Visit.all().count() == 0


class TestPositionPrivacy:
    async def test_staff_see_the_distance_and_reveal_the_position_with_a_log(self, client, world):
        await world.assign("party", world.h(0, 0, 1))
        vid = (await client.post(V, json=body(world.h(0, 0, 1)), headers=world.headers["party"])).json()["id"]
        own = (await client.get(f"{V}/{vid}", headers=world.headers["party"])).json()
        assert own["lat"] == CENTER[0] and not own["position_masked"]
        staff = (await client.get(f"{V}/{vid}", headers=world.headers["leader"])).json()
        assert staff["lat"] is None and staff["position_masked"] and staff["distance_m"] == 0
        assert await AuditLog.filter(action__startswith="reveal").count() == 0
        revealed = (await client.get(f"{V}/{vid}?reveal=true", headers=world.headers["leader"])).json()
        assert revealed["lat"] == CENTER[0]
        log = await AuditLog.get(action__startswith="reveal")
        assert (log.actor_id, log.object_type, log.object_id) == (world["leader"].id, "visit", str(vid))
        assert uuid.UUID(own["client_id"])
