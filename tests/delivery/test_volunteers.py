"""Volunteers: real-name registration with the ID number encrypted at rest and shown masked, audited reveals,
approval, pairings, and activities (capacity race-free, geofenced check-in/out, hours credited once)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tortoise import connections

from backend.core import crypto
from backend.core.timeutil import utcnow
from backend.models.audit import AuditLog
from backend.models.ledger import Currency, Transfer, TransferKind
from backend.models.user import Role, RoleGrant
from backend.models.volunteers import Activity, ActivitySignup, VolunteerProfile
from backend.volunteers import activities
from tests.builders import auth_headers, make_user
from tests.delivery.conftest import CENTER, balance, id_number, volunteer


def registration(world, number: str) -> dict:  # type: ignore[no-untyped-def]
    return {
        "real_name": "张建国",
        "id_number": number,
        "community_id": world.community.id,
        "skills": ["delivery", "meals"],
        "area": {"lat": CENTER[0], "lng": CENTER[1], "radius_m": 3000},
    }


class TestRegistration:
    async def test_the_id_number_is_encrypted_at_rest_masked_in_answers_and_revealed_with_an_audit_row(
        self, client, settings, world
    ):
        number = id_number(4242)
        resp = await client.post(
            "/api/v1/volunteers/me", json=registration(world, number), headers=world.headers["neighbour"]
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["status"] == "pending" and body["id_number_masked"] == number[:3] + "*" * 11 + number[-4:]
        assert number not in resp.text
        rows = await connections.get("default").execute_query_dict("SELECT * FROM volunteer_profile")
        assert not any(number in str(v) for v in rows[0].values())
        profile_id = body["id"]
        denied = await client.get(
            f"/api/v1/volunteers/{profile_id}/sensitive", headers=world.headers["neighbour"]
        )
        assert denied.status_code == 403
        seen = await client.get(
            f"/api/v1/volunteers/{profile_id}/sensitive", headers=world.headers["grid_worker"]
        )
        assert seen.status_code == 200 and seen.json()["id_number"] == number
        assert (
            await AuditLog.filter(action="reveal:id_number,phone", actor_id=world["grid_worker"].id).count()
            == 1
        )
        outside = await client.get(
            f"/api/v1/volunteers/{profile_id}/sensitive", headers=world.headers["staff_other"]
        )
        assert outside.status_code == 404

    async def test_a_ciphertext_moved_to_another_row_does_not_decrypt(self, settings):
        a, b = id_number(1), id_number(2)
        fa, fb = crypto.fingerprint(settings, a), crypto.fingerprint(settings, b)
        sealed = crypto.encrypt(settings, a, bound_to=fa)
        assert crypto.decrypt(settings, sealed, bound_to=fa) == a
        import pytest
        from cryptography.exceptions import InvalidTag

        with pytest.raises(InvalidTag):
            crypto.decrypt(settings, sealed, bound_to=fb)

    async def test_bad_id_numbers_unverified_phones_and_duplicates_are_refused(self, client, settings, world):
        bad = await client.post(
            "/api/v1/volunteers/me",
            json=registration(world, "620103199001010001"),
            headers=world.headers["neighbour"],
        )
        assert bad.status_code == 422 and bad.json()["error"] == "InvalidIdNumber"
        no_phone = await make_user(Role.RESIDENT, world.community)
        no_phone.phone = None
        await no_phone.save()
        resp = await client.post(
            "/api/v1/volunteers/me",
            json=registration(world, id_number(5)),
            headers=await auth_headers(settings, no_phone),
        )
        assert resp.status_code == 400 and resp.json()["error"] == "PhoneNotVerified"
        number = id_number(6)
        assert (
            await client.post(
                "/api/v1/volunteers/me", json=registration(world, number), headers=world.headers["neighbour"]
            )
        ).status_code == 201
        same_id = await client.post(
            "/api/v1/volunteers/me", json=registration(world, number), headers=world.headers["family"]
        )
        assert same_id.status_code == 409 and same_id.json()["error"] == "AlreadyRegistered"
        assert await VolunteerProfile.all().count() == 1

    async def test_approval_makes_an_active_volunteer_with_the_role(self, client, world):
        resp = await client.post(
            "/api/v1/volunteers/me",
            json=registration(world, id_number(7)),
            headers=world.headers["neighbour"],
        )
        pid = resp.json()["id"]
        assert (
            await client.post(f"/api/v1/volunteers/{pid}/approve", headers=world.headers["grid_worker"])
        ).status_code == 403
        ok = await client.post(f"/api/v1/volunteers/{pid}/approve", headers=world.headers["staff"])
        assert ok.status_code == 200 and ok.json()["status"] == "active"
        assert await RoleGrant.exists(
            user_id=world["neighbour"].id, role=Role.VOLUNTEER, org_unit_id=world.community.id
        )
        again = await client.post(f"/api/v1/volunteers/{pid}/approve", headers=world.headers["staff"])
        assert again.status_code == 409


class TestPairings:
    async def test_a_resident_has_one_active_pairing(self, client, settings, world):
        a = await volunteer(settings, "甲", CENTER, community=world.community)
        b = await volunteer(settings, "乙", CENTER, community=world.community)
        first = await client.post(
            "/api/v1/volunteers/pairings",
            headers=world.headers["grid_worker"],
            json={"volunteer_id": a.id, "resident_id": world["resident"].id},
        )
        assert first.status_code == 201, first.text
        second = await client.post(
            "/api/v1/volunteers/pairings",
            headers=world.headers["grid_worker"],
            json={"volunteer_id": b.id, "resident_id": world["resident"].id},
        )
        assert second.status_code == 409 and second.json()["error"] == "AlreadyPaired"
        end = await client.post(
            f"/api/v1/volunteers/pairings/{first.json()['id']}/end", headers=world.headers["grid_worker"]
        )
        assert end.status_code == 200 and not end.json()["active"]
        assert (
            await client.post(
                "/api/v1/volunteers/pairings",
                headers=world.headers["grid_worker"],
                json={"volunteer_id": b.id, "resident_id": world["resident"].id},
            )
        ).status_code == 201


class TestActivities:
    async def _activity(self, world, capacity: int = 5) -> Activity:  # type: ignore[no-untyped-def]
        return await Activity.create(
            title="清扫楼道",
            lat=CENTER[0],
            lng=CENTER[1],
            geofence_m=300,
            capacity=capacity,
            starts_at=utcnow(),
            ends_at=utcnow() + timedelta(hours=2),
            credit_minutes=120,
            created_by_id=world["staff"].id,
            street_id=world.community.street_id,
            community_id=world.community.id,
        )

    async def test_capacity_holds_under_concurrent_sign_ups(self, settings, world):
        activity = await self._activity(world, capacity=5)
        people = [
            await volunteer(settings, f"志愿者{i}", CENTER, community=world.community) for i in range(12)
        ]
        results = await asyncio.gather(
            *(activities.sign_up(activity, p.id) for p in people), return_exceptions=True
        )
        assert sum(1 for r in results if not isinstance(r, Exception)) == 5
        assert {type(r).__name__ for r in results if isinstance(r, Exception)} == {"ActivityFull"}
        assert (await Activity.get(id=activity.id)).signed_up == 5 == await ActivitySignup.all().count()

    async def test_check_in_and_out_on_site_credit_the_hours_once(self, client, settings, world):
        activity = await self._activity(world)
        v = await volunteer(settings, "甲", CENTER, community=world.community)
        h = await auth_headers(settings, v)
        base = f"/api/v1/volunteers/activities/{activity.id}"
        assert (await client.post(base + "/signup", headers=h)).status_code == 201
        far = await client.post(
            base + "/check-in", headers=h, json={"lat": CENTER[0] + 0.01, "lng": CENTER[1]}
        )
        assert far.status_code == 422 and far.json()["error"] == "TooFarToCheckIn"
        assert (
            await client.post(base + "/check-out", headers=h, json={"lat": CENTER[0], "lng": CENTER[1]})
        ).status_code == 409
        assert (
            await client.post(base + "/check-in", headers=h, json={"lat": CENTER[0], "lng": CENTER[1]})
        ).status_code == 200
        out = await client.post(base + "/check-out", headers=h, json={"lat": CENTER[0], "lng": CENTER[1]})
        assert out.status_code == 200 and out.json()["credited_minutes"] == 120
        again = await client.post(base + "/check-out", headers=h, json={"lat": CENTER[0], "lng": CENTER[1]})
        assert again.status_code == 409
        assert await Transfer.filter(kind=TransferKind.EARN_ACTIVITY).count() == 1
        assert await balance(v.id, Currency.HOUR) == 120
        mine = await client.get("/api/v1/volunteers/activities/mine", headers=h)
        assert [a["my_status"] for a in mine.json()] == ["checked_out"]

    async def test_only_active_volunteers_sign_up(self, client, world):
        activity = await self._activity(world)
        resp = await client.post(
            f"/api/v1/volunteers/activities/{activity.id}/signup", headers=world.headers["resident"]
        )
        assert resp.status_code == 409 and resp.json()["error"] == "NotAnActiveVolunteer"
