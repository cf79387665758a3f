"""Phone binding via getuserphonenumber: the watermark must be ours; a phone staff registered merges in."""

from __future__ import annotations

from backend.models.audit import AuditLog
from backend.models.auth import AuthSession
from backend.models.user import Role, User, WechatAccount
from tests.builders import make_org_tree, make_user


async def _wechat_login(client, fake_wechat, openid: str) -> dict:  # type: ignore[no-untyped-def]
    fake_wechat.add_code(f"code-{openid}", openid=openid)
    resp = await client.post("/api/v1/auth/wechat", json={"code": f"code-{openid}"})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


class TestPhoneBinding:
    async def test_binding_a_new_phone_sets_it_on_the_user(self, client, fake_wechat):
        headers = await _wechat_login(client, fake_wechat, "o-phone")
        fake_wechat.add_phone_code("pc-1", "13912345678")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-1"}, headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["me"]["phone_masked"] == "139****5678"
        assert resp.json()["tokens"] is None
        assert await User.filter(phone="13912345678").count() == 1
        assert fake_wechat.calls["stable_token"] == 1

    async def test_a_phone_staff_registered_merges_the_wechat_identity_into_that_user(self, client, fake_wechat):
        tree = await make_org_tree(communities=1, grids=1)
        elder = await make_user(Role.RESIDENT, tree.community(), name="王奶奶", phone="13700001111",
                                household=tree.household())
        headers = await _wechat_login(client, fake_wechat, "o-elder")
        placeholder = await WechatAccount.get(openid="o-elder").values_list("user_id", flat=True)
        fake_wechat.add_phone_code("pc-2", "13700001111")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-2"}, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["me"]["id"] == elder.id and body["me"]["name"] == "王奶奶"
        assert body["me"]["roles"][0]["role"] == "resident"
        assert (await WechatAccount.get(openid="o-elder")).user_id == elder.id
        assert (await User.get(id=placeholder)).is_active is False
        # the placeholder's tokens are dead; the new ones work
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        fresh = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
        assert (await client.get("/api/v1/me", headers=fresh)).json()["id"] == elder.id
        assert await AuditLog.filter(action="user:merge", object_id=str(elder.id)).exists()
        assert not await AuthSession.filter(user_id=placeholder, revoked_at=None).exists()

    async def test_a_phone_already_bound_to_another_wechat_is_a_409(self, client, fake_wechat):
        await _wechat_login(client, fake_wechat, "o-first")
        first_user = await WechatAccount.get(openid="o-first").values_list("user_id", flat=True)
        await User.filter(id=first_user).update(phone="13700002222")
        headers = await _wechat_login(client, fake_wechat, "o-second")
        fake_wechat.add_phone_code("pc-3", "13700002222")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-3"}, headers=headers)
        assert resp.status_code == 409 and resp.json()["error"] == "PhoneBoundElsewhere"

    async def test_another_apps_watermark_is_rejected(self, client, fake_wechat):
        headers = await _wechat_login(client, fake_wechat, "o-wm")
        fake_wechat.watermark_appid = "wx-somebody-else"
        fake_wechat.add_phone_code("pc-4", "13700003333")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-4"}, headers=headers)
        assert resp.status_code == 400 and resp.json()["error"] == "PhoneNotVerified"
        assert not await User.filter(phone="13700003333").exists()

    async def test_an_invalid_phone_code_is_a_400(self, client, fake_wechat):
        headers = await _wechat_login(client, fake_wechat, "o-bad")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "nope"}, headers=headers)
        assert resp.status_code == 400 and resp.json()["error"] == "PhoneCodeInvalid"

    async def test_an_expired_access_token_is_refreshed_once(self, client, fake_wechat):
        headers = await _wechat_login(client, fake_wechat, "o-exp")
        fake_wechat.add_phone_code("pc-5", "13700004444")
        assert (await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-5"}, headers=headers)).status_code == 200
        fake_wechat.expire_tokens()
        fake_wechat.add_phone_code("pc-6", "13700005555")
        resp = await client.post("/api/v1/auth/wechat/phone", json={"code": "pc-6"}, headers=headers)
        assert resp.status_code == 200, resp.text
        assert fake_wechat.calls["stable_token"] == 2
