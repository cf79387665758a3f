"""Idempotency-Key on POST: replay for the same key and body, 409 while in flight, 422 for another body."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from backend.core.timeutil import utcnow
from backend.models.idempotency import IdempotencyRecord
from backend.models.org import OrgUnit
from backend.models.user import Role
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def staff(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1)
    user = await make_user(Role.COMMUNITY_STAFF, tree.community())
    return tree, user, await auth_headers(settings, user)


def _body(tree, name="新网格") -> dict:  # type: ignore[no-untyped-def]
    return {"level": "grid", "name": name, "parent_id": tree.community().id}


class TestIdempotency:
    async def test_the_same_key_and_body_replays_the_first_answer(self, client, staff):
        tree, _, headers = staff
        headers = {**headers, "Idempotency-Key": "k-1"}
        first = await client.post("/api/v1/org/units", json=_body(tree), headers=headers)
        second = await client.post("/api/v1/org/units", json=_body(tree), headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
        assert await OrgUnit.filter(name="新网格").count() == 1

    async def test_concurrent_retries_create_one_row(self, client, staff):
        tree, _, headers = staff
        headers = {**headers, "Idempotency-Key": "k-race"}
        results = await asyncio.gather(*(client.post("/api/v1/org/units", json=_body(tree), headers=headers) for _ in range(10)))
        codes = sorted(r.status_code for r in results)
        assert set(codes) <= {201, 409} and 201 in codes
        assert all(r.json()["error"] == "RequestInFlight" for r in results if r.status_code == 409)
        assert await OrgUnit.filter(name="新网格").count() == 1

    async def test_the_same_key_with_another_body_is_a_422(self, client, staff):
        tree, _, headers = staff
        headers = {**headers, "Idempotency-Key": "k-2"}
        await client.post("/api/v1/org/units", json=_body(tree, "甲"), headers=headers)
        resp = await client.post("/api/v1/org/units", json=_body(tree, "乙"), headers=headers)
        assert resp.status_code == 422 and resp.json()["error"] == "IdempotencyKeyReused"
        assert not await OrgUnit.exists(name="乙")

    async def test_a_request_still_in_flight_answers_409(self, client, staff):
        tree, user, headers = staff
        first = await client.post("/api/v1/org/units", json=_body(tree), headers={**headers, "Idempotency-Key": "k-3"})
        record = await IdempotencyRecord.get(key="k-3")
        await IdempotencyRecord.filter(id=record.id).update(in_flight=True, locked_until=utcnow() + timedelta(seconds=30))
        resp = await client.post("/api/v1/org/units", json=_body(tree), headers={**headers, "Idempotency-Key": "k-3"})
        assert first.status_code == 201 and resp.status_code == 409 and resp.json()["error"] == "RequestInFlight"

    async def test_a_crashed_attempts_lapsed_lock_is_taken_over(self, client, staff):
        tree, user, headers = staff
        now = utcnow()
        request = client.build_request("POST", "/api/v1/org/units", json=_body(tree))
        from backend.core.idempotency import IdempotencyMiddleware  # noqa: F401 - same hash as the middleware
        import hashlib

        digest = hashlib.sha256(b"/api/v1/org/units\napplication/json\n" + request.content).hexdigest()
        await IdempotencyRecord.create(
            owner=f"user:{user.id}", key="k-4", method="POST", path="/api/v1/org/units", request_hash=digest,
            in_flight=True, locked_until=now - timedelta(seconds=1), expires_at=now + timedelta(hours=1),
        )
        resp = await client.post("/api/v1/org/units", json=_body(tree), headers={**headers, "Idempotency-Key": "k-4"})
        assert resp.status_code == 201
        assert (await IdempotencyRecord.get(key="k-4")).in_flight is False

    async def test_keys_belong_to_one_user(self, client, staff, settings):
        tree, _, headers = staff
        other = await auth_headers(settings, await make_user(Role.COMMUNITY_STAFF, tree.community()))
        a = await client.post("/api/v1/org/units", json=_body(tree, "甲"), headers={**headers, "Idempotency-Key": "shared"})
        b = await client.post("/api/v1/org/units", json=_body(tree, "乙"), headers={**other, "Idempotency-Key": "shared"})
        assert a.status_code == b.status_code == 201
        assert "idempotent-replayed" not in b.headers

    async def test_an_auth_failure_does_not_burn_the_key(self, client, staff):
        tree, _, headers = staff
        bad = await client.post("/api/v1/org/units", json=_body(tree),
                                headers={"Authorization": "Bearer expired", "Idempotency-Key": "k-5"})
        assert bad.status_code == 401
        good = await client.post("/api/v1/org/units", json=_body(tree), headers={**headers, "Idempotency-Key": "k-5"})
        assert good.status_code == 201 and "idempotent-replayed" not in good.headers

    async def test_validation_errors_are_replayed_too(self, client, staff):
        _, _, headers = staff
        headers = {**headers, "Idempotency-Key": "k-6"}
        first = await client.post("/api/v1/org/units", json={"level": "grid"}, headers=headers)
        second = await client.post("/api/v1/org/units", json={"level": "grid"}, headers=headers)
        assert first.status_code == second.status_code == 422
        assert second.headers.get("idempotent-replayed") == "true"

    @pytest.mark.parametrize("key", ["", "x" * 129])
    async def test_a_malformed_key_is_a_400(self, client, staff, key):
        tree, _, headers = staff
        resp = await client.post("/api/v1/org/units", json=_body(tree), headers={**headers, "Idempotency-Key": key})
        assert resp.status_code == 400 and resp.json()["error"] == "BadIdempotencyKey"
        assert not await OrgUnit.exists(name="新网格")


class TestMethodOverride:
    async def test_post_with_an_override_header_reaches_the_patch_route(self, client, staff):
        tree, _, headers = staff
        resp = await client.post(f"/api/v1/org/units/{tree.grid().id}", json={"name": "改过名的网格"},
                                 headers={**headers, "X-HTTP-Method-Override": "PATCH"})
        assert resp.status_code == 200 and resp.json()["name"] == "改过名的网格"

    async def test_other_overrides_are_ignored(self, client, staff):
        tree, _, headers = staff
        resp = await client.post(f"/api/v1/org/units/{tree.grid().id}", json={"name": "x"},
                                 headers={**headers, "X-HTTP-Method-Override": "TRACE"})
        assert resp.status_code == 405
