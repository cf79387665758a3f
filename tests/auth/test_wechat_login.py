"""Mini-program login through code2Session against the fake WeChat server."""

from __future__ import annotations

import asyncio

import pytest

from backend.models.user import User, WechatAccount


class TestWechatLogin:
    async def test_first_login_creates_a_user_and_keeps_session_key_on_the_server(self, client, fake_wechat):
        fake_wechat.add_code("code-A", openid="openid-A", unionid="union-A")
        resp = await client.post("/api/v1/auth/wechat", json={"code": "code-A"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["is_new_user"] is True
        assert "session_key" not in resp.text and "sk-openid-A" not in resp.text
        account = await WechatAccount.get(openid="openid-A")
        assert account.session_key.startswith("sk-openid-A") and account.unionid == "union-A"
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["has_wechat"] is True and me.json()["roles"] == []
        assert "session_key" not in me.text

    async def test_second_login_finds_the_same_user_and_refreshes_the_session_key(self, client, fake_wechat):
        fake_wechat.add_code("c1", openid="o-1")
        fake_wechat.add_code("c2", openid="o-1")
        first = await client.post("/api/v1/auth/wechat", json={"code": "c1"})
        old_key = (await WechatAccount.get(openid="o-1")).session_key
        second = await client.post("/api/v1/auth/wechat", json={"code": "c2"})
        assert second.json()["is_new_user"] is False
        assert await User.all().count() == 1
        assert (await WechatAccount.get(openid="o-1")).session_key != old_key
        assert first.json()["refresh_token"] != second.json()["refresh_token"]

    async def test_two_simultaneous_first_logins_make_one_user(self, client, fake_wechat):
        fake_wechat.add_code("x1", openid="o-race")
        fake_wechat.add_code("x2", openid="o-race")
        a, b = await asyncio.gather(
            client.post("/api/v1/auth/wechat", json={"code": "x1"}),
            client.post("/api/v1/auth/wechat", json={"code": "x2"}),
        )
        assert a.status_code == b.status_code == 200
        assert await WechatAccount.filter(openid="o-race").count() == 1
        assert sorted([a.json()["is_new_user"], b.json()["is_new_user"]]) in ([False, True], [True, True])

    @pytest.mark.parametrize(
        ("errcode", "status", "error"),
        [
            (40029, 400, "WechatCodeInvalid"),
            (40163, 400, "WechatCodeInvalid"),
            (45011, 429, "WechatRateLimited"),
            (40226, 403, "WechatRiskyUser"),
        ],
    )
    async def test_documented_errcodes_become_clear_4xx(self, client, fake_wechat, errcode, status, error):
        fake_wechat.add_code("code-E", openid="o-E")
        fake_wechat.fail("jscode2session", errcode=errcode)
        resp = await client.post("/api/v1/auth/wechat", json={"code": "code-E"})
        assert resp.status_code == status
        assert resp.json()["error"] == error
        assert resp.json()["detail"] == {"errcode": errcode}
        assert fake_wechat.calls["jscode2session"] == 1  # never retried
        assert await User.all().count() == 0

    async def test_unknown_code_is_40029_from_wechat_itself(self, client, fake_wechat):
        resp = await client.post("/api/v1/auth/wechat", json={"code": "never-issued"})
        assert resp.status_code == 400 and resp.json()["error"] == "WechatCodeInvalid"

    async def test_a_used_code_cannot_log_in_twice(self, client, fake_wechat):
        fake_wechat.add_code("once", openid="o-once")
        assert (await client.post("/api/v1/auth/wechat", json={"code": "once"})).status_code == 200
        again = await client.post("/api/v1/auth/wechat", json={"code": "once"})
        assert again.status_code == 400 and again.json()["detail"] == {"errcode": 40163}

    async def test_system_busy_is_retried_twice_then_succeeds(self, client, fake_wechat):
        fake_wechat.add_code("busy", openid="o-busy")
        fake_wechat.fail("jscode2session", errcode=-1, times=2)
        resp = await client.post("/api/v1/auth/wechat", json={"code": "busy"})
        assert resp.status_code == 200
        assert fake_wechat.calls["jscode2session"] == 3

    async def test_system_busy_three_times_gives_503_after_two_retries(self, client, fake_wechat):
        fake_wechat.add_code("busy3", openid="o-busy3")
        fake_wechat.fail("jscode2session", errcode=-1, times=3)
        resp = await client.post("/api/v1/auth/wechat", json={"code": "busy3"})
        assert resp.status_code == 503 and resp.json()["error"] == "WechatBusy"
        assert fake_wechat.calls["jscode2session"] == 3

    async def test_wechat_unreachable_is_a_503_not_a_500(self, app, client, settings, monkeypatch):
        monkeypatch.setattr(settings, "wechat_api_base", "http://127.0.0.1:9")  # nothing listens there
        resp = await client.post("/api/v1/auth/wechat", json={"code": "whatever"})
        assert resp.status_code == 503 and resp.json()["error"] == "WechatBusy"

    async def test_a_code_that_is_too_long_is_refused_before_calling_wechat(self, client, fake_wechat):
        resp = await client.post("/api/v1/auth/wechat", json={"code": "x" * 500})
        assert resp.status_code == 422
        assert fake_wechat.calls["jscode2session"] == 0


class TestNotConfigured:
    async def test_without_an_app_id_wechat_login_is_a_clear_501_and_nothing_is_called(
        self, client, settings, fake_wechat, monkeypatch
    ):
        monkeypatch.setattr(settings, "wechat_appid", "wx-dev-appid")
        resp = await client.post("/api/v1/auth/wechat", json={"code": "any"})
        assert resp.status_code == 501 and resp.json()["error"] == "WechatNotConfigured"
        assert fake_wechat.calls["jscode2session"] == 0
