"""JWT handling: one pinned algorithm, required claims, typed tokens, rotation with reuse detection, logout."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest

from backend.core.timeutil import utcnow
from backend.models.auth import AuthSession
from tests.builders import make_user, tokens_for
from tests.conftest import TEST_SECRET


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(user_id: int, session_id: uuid.UUID, **overrides) -> dict:  # type: ignore[no-untyped-def]
    now = utcnow()
    claims = {
        "iss": "jinlin", "aud": "jinlin-app", "sub": str(user_id), "sid": str(session_id), "typ": "access",
        "iat": now, "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def _me(client, token: str):  # type: ignore[no-untyped-def]
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def session(settings):  # type: ignore[no-untyped-def]
    user = await make_user(name="被攻击者")
    pair = await tokens_for(settings, user)
    sid = (await AuthSession.get(user_id=user.id)).id
    return user, sid, pair


class TestAccessTokenAttacks:
    async def test_a_well_formed_token_works(self, client, session):
        user, sid, _ = session
        token = jwt.encode(_claims(user.id, sid), TEST_SECRET, algorithm="HS256")
        assert (await _me(client, token)).status_code == 200

    async def test_alg_none_is_rejected(self, client, session):
        user, sid, _ = session
        claims = _claims(user.id, sid)
        claims["iat"], claims["exp"] = int(claims["iat"].timestamp()), int(claims["exp"].timestamp())
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        resp = await _me(client, token)
        assert resp.status_code == 401 and resp.json()["error"] == "InvalidToken"

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    async def test_another_algorithm_is_rejected_even_with_the_right_key(self, client, session):
        user, sid, _ = session
        token = jwt.encode(_claims(user.id, sid), TEST_SECRET, algorithm="HS512")
        assert (await _me(client, token)).status_code == 401

    async def test_a_token_signed_with_another_key_is_rejected(self, client, session):
        user, sid, _ = session
        token = jwt.encode(_claims(user.id, sid), "another-secret-that-is-long-enough-000000", algorithm="HS256")
        assert (await _me(client, token)).status_code == 401

    async def test_an_expired_token_is_rejected_and_says_so(self, client, session):
        user, sid, _ = session
        past = utcnow() - timedelta(hours=1)
        token = jwt.encode(_claims(user.id, sid, iat=past - timedelta(minutes=15), exp=past), TEST_SECRET, algorithm="HS256")
        resp = await _me(client, token)
        assert resp.status_code == 401 and resp.json()["detail"] == {"reason": "expired"}

    @pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "sid", "typ"])
    async def test_a_missing_required_claim_is_rejected(self, client, session, claim):
        user, sid, _ = session
        claims = _claims(user.id, sid)
        claims.pop(claim)
        token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
        assert (await _me(client, token)).status_code == 401

    @pytest.mark.parametrize(("claim", "value"), [("aud", "another-app"), ("iss", "someone-else"), ("typ", "id")])
    async def test_wrong_audience_issuer_or_type_is_rejected(self, client, session, claim, value):
        user, sid, _ = session
        token = jwt.encode(_claims(user.id, sid, **{claim: value}), TEST_SECRET, algorithm="HS256")
        assert (await _me(client, token)).status_code == 401

    async def test_a_refresh_token_cannot_be_used_as_an_access_token(self, client, session):
        _, _, pair = session
        resp = await _me(client, pair.refresh_token)
        assert resp.status_code == 401 and resp.json()["detail"] == {"reason": "wrong_type"}

    async def test_an_access_token_cannot_be_used_to_refresh(self, client, session):
        _, _, pair = session
        resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.access_token})
        assert resp.status_code == 401

    async def test_a_token_naming_another_users_session_is_rejected(self, client, session, settings):
        _, sid, _ = session
        other = await make_user(name="另一个人")
        token = jwt.encode(_claims(other.id, sid), TEST_SECRET, algorithm="HS256")
        assert (await _me(client, token)).status_code == 401

    async def test_garbage_and_missing_headers_are_401_in_the_error_shape(self, client):
        for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic abc"}):
            resp = await client.get("/api/v1/me", headers=headers)
            assert resp.status_code == 401
            assert set(resp.json()) == {"error", "message", "detail"}


class TestRefreshRotation:
    async def test_refresh_rotates_and_the_new_pair_works(self, client, session):
        _, _, pair = session
        resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
        assert resp.status_code == 200
        new = resp.json()
        assert new["refresh_token"] != pair.refresh_token
        assert (await _me(client, new["access_token"])).status_code == 200

    async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(self, client, session):
        _, sid, pair = session
        rotated = (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})).json()
        replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
        assert replay.status_code == 401 and replay.json()["error"] == "RefreshTokenReused"
        # the thief's replay also ends the legitimate holder's newer tokens
        assert (await _me(client, rotated["access_token"])).status_code == 401
        again = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
        assert again.status_code == 401
        assert (await AuthSession.get(id=sid)).revoked_reason == "refresh_reuse"

    async def test_concurrent_refreshes_with_one_token_have_one_winner(self, client, session):
        _, _, pair = session
        results = await asyncio.gather(
            *(client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token}) for _ in range(8))
        )
        codes = [r.status_code for r in results]
        assert codes.count(200) == 1 and codes.count(401) == 7

    async def test_logout_ends_the_session_at_once(self, client, session):
        _, _, pair = session
        assert (await _me(client, pair.access_token)).status_code == 200
        resp = await client.post("/api/v1/auth/logout", json={"refresh_token": pair.refresh_token})
        assert resp.status_code == 204
        assert (await _me(client, pair.access_token)).status_code == 401
        assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})).status_code == 401

    async def test_logout_of_one_device_leaves_the_others_signed_in(self, client, session, settings):
        user, _, first = session
        second = await tokens_for(settings, user)
        await client.post("/api/v1/auth/logout", json={"refresh_token": first.refresh_token})
        assert (await _me(client, second.access_token)).status_code == 200

    async def test_an_expired_refresh_token_is_refused(self, client, session, settings, monkeypatch):
        user, _, _ = session
        monkeypatch.setattr(settings, "refresh_token_ttl_seconds", -10)
        stale = await tokens_for(settings, user)
        resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": stale.refresh_token})
        assert resp.status_code == 401 and resp.json()["detail"] == {"reason": "expired"}
