"""Staff log in with phone and password; repeated failures lock the account for a while."""

from __future__ import annotations

from datetime import timedelta

from backend.core.timeutil import utcnow
from backend.models.user import Role, User
from tests.builders import make_org_tree, make_user


class TestPasswordLogin:
    async def test_right_password_gives_a_token_pair_that_opens_me(self, client):
        tree = await make_org_tree(communities=1, grids=1)
        await make_user(Role.COMMUNITY_STAFF, tree.community(), phone="13800000001", password="s3cret-pass")
        resp = await client.post("/api/v1/auth/login", json={"phone": "13800000001", "password": "s3cret-pass"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 900
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200
        assert me.json()["roles"][0]["role"] == "community_staff"
        assert me.json()["phone_masked"] == "138****0001"

    async def test_wrong_password_and_unknown_phone_answer_alike(self, client):
        await make_user(phone="13800000002", password="right-password")
        wrong = await client.post("/api/v1/auth/login", json={"phone": "13800000002", "password": "nope-nope"})
        unknown = await client.post("/api/v1/auth/login", json={"phone": "13800000999", "password": "nope-nope"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["error"] == "InvalidCredentials"

    async def test_five_failures_lock_the_account_even_for_the_right_password(self, client, settings):
        await make_user(phone="13800000003", password="right-password")
        for _ in range(settings.login_max_failures - 1):
            resp = await client.post("/api/v1/auth/login", json={"phone": "13800000003", "password": "wrong-one"})
            assert resp.status_code == 401
        locked = await client.post("/api/v1/auth/login", json={"phone": "13800000003", "password": "wrong-one"})
        assert locked.status_code == 423
        assert locked.json()["error"] == "AccountLocked"
        right = await client.post("/api/v1/auth/login", json={"phone": "13800000003", "password": "right-password"})
        assert right.status_code == 423
        assert right.json()["detail"]["retry_after_seconds"] > 0

    async def test_lock_expires_and_success_resets_the_count(self, client):
        user = await make_user(phone="13800000004", password="right-password")
        await User.filter(id=user.id).update(locked_until=utcnow() - timedelta(seconds=1), failed_logins=3)
        ok = await client.post("/api/v1/auth/login", json={"phone": "13800000004", "password": "right-password"})
        assert ok.status_code == 200
        await user.refresh_from_db()
        assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at is not None

    async def test_a_disabled_account_cannot_log_in(self, client):
        user = await make_user(phone="13800000005", password="right-password")
        await User.filter(id=user.id).update(is_active=False)
        resp = await client.post("/api/v1/auth/login", json={"phone": "13800000005", "password": "right-password"})
        assert resp.status_code == 403 and resp.json()["error"] == "AccountDisabled"

    async def test_malformed_input_is_a_422_with_field_paths(self, client):
        resp = await client.post("/api/v1/auth/login", json={"phone": "12345", "password": ""})
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"] == "ValidationFailed"
        assert {d["loc"] for d in body["detail"]} == {"body.phone", "body.password"}
        assert "格式不正确" in body["message"]
