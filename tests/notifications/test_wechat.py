"""WeChat subscribe messages: field rules checked before any HTTP call, one consent per send, errcodes handled
as documented (43101 never retried, -1 retried with backoff, others dead-lettered), one token refresh for many
concurrent sends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from backend.core.timeutil import utcnow
from backend.models.notifications import DeliveryStatus, Urgency, WechatConsent, WechatDelivery
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role
from backend.notifications import runtime, subscribe
from backend.notifications.service import notify
from backend.notifications.templates import TemplateError, check_value, parse
from backend.outbox.worker import Worker
from tests.builders import auth_headers
from tests.notifications.conftest import (
    ALERT_TEMPLATE,
    ANNOUNCE_TEMPLATE,
    drain,
    grant_consents,
    make_wechat_user,
)


async def _delivery_of(done, user) -> WechatDelivery:  # type: ignore[no-untyped-def]
    return await WechatDelivery.get(item_id=done.items[user.id])


async def _outbox(kind: str = "notifications.wechat") -> OutboxEvent:
    return await OutboxEvent.get(kind=kind)


class TestFieldRules:
    @pytest.mark.parametrize(("keyword", "value"), [
        ("thing1", "二十个字以内的事物名称可以有数字12"), ("number2", "339208499"), ("number3", "3.5"),
        ("phrase4", "配送中"), ("time5", "15:01"), ("time6", "2026年11月22日 08:30"), ("time7", "2026-11-22 08:30"),
        ("time8", "2026-11-22 08:30 ~ 2026-11-22 10:00"), ("date9", "2026年11月22日"), ("date10", "2026/11/22"),
        ("character_string11", "WX-2026-0001"), ("name12", "王秀英"), ("name13", "Wang Xiuying"),
        ("phone_number14", "+86-0931-12345678"), ("amount15", "¥12.50"), ("car_number16", "甘A12345"),
    ])
    def test_values_wechat_accepts(self, keyword, value):
        check_value(keyword, value)

    @pytest.mark.parametrize(("keyword", "value"), [
        ("thing1", "二十一个字的事物名称超过了微信规定的长度了"), ("thing1", ""), ("thing1", "两行\n文字"),
        ("number2", "1" * 33), ("number2", "12a"), ("phrase4", "配送中途中了"), ("phrase4", "ok"),
        ("time5", "25:01"), ("time5", "2026年13月01日 08:30"), ("time5", "明天上午"), ("date9", "2026-11/22"),
        ("character_string11", "含中文"), ("character_string11", "x" * 33), ("name12", "王" * 11),
        ("phone_number14", "1" * 18), ("unknown1", "x"),
    ])
    def test_values_wechat_refuses_are_refused_here(self, keyword, value):
        with pytest.raises(TemplateError) as exc:
            check_value(keyword, value)
        assert exc.value.field == keyword

    def test_malformed_configuration_is_named(self):
        for raw in [{"k": {"data": {"thing1": "{title}"}}}, {"k": {"template_id": "t", "data": {}}},
                    {"k": {"template_id": "t", "data": {"bogus1": "{title}"}}}]:
            with pytest.raises(TemplateError):
                parse(raw)

    def test_templates_may_only_name_plain_values(self):
        template = parse({"k": {"template_id": "t", "data": {"thing1": "{title.__class__}"}}})["k"]
        with pytest.raises(TemplateError):
            template.render({"title": "x"})


class TestConsentApi:
    async def test_templates_and_recording_what_the_user_accepted(self, client, settings):
        user = await make_wechat_user()
        headers = await auth_headers(settings, user)
        listed = (await client.get("/api/v1/notifications/templates", headers=headers)).json()
        assert {t["template_id"] for t in listed} == {ANNOUNCE_TEMPLATE, ALERT_TEMPLATE}
        resp = await client.post("/api/v1/notifications/subscriptions", headers=headers,
                                 json={"results": {ANNOUNCE_TEMPLATE: "accept", ALERT_TEMPLATE: "reject"}})
        assert resp.status_code == 201 and resp.json() == {"remaining": {ANNOUNCE_TEMPLATE: 1}}
        await client.post("/api/v1/notifications/subscriptions", headers=headers,
                          json={"results": {ANNOUNCE_TEMPLATE: "accept"}})
        got = (await client.get("/api/v1/notifications/subscriptions", headers=headers)).json()
        assert got == {"remaining": {ANNOUNCE_TEMPLATE: 2}}
        assert await WechatConsent.filter(user=user).count() == 3  # the rejection is on record too

    @pytest.mark.parametrize("results", [
        {"tmpl-unknown": "accept"}, {ANNOUNCE_TEMPLATE: "maybe"}, {"errMsg": "requestSubscribeMessage:ok"}, {},
    ])
    async def test_unknown_templates_and_answers_are_refused(self, client, settings, results):
        user = await make_wechat_user()
        resp = await client.post("/api/v1/notifications/subscriptions", json={"results": results},
                                 headers=await auth_headers(settings, user))
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"] in {"UnknownTemplate", "ValidationFailed"}
        assert await WechatConsent.all().count() == 0


class TestSending:
    async def test_a_send_spends_one_consent_and_carries_the_rendered_fields(self, settings, bus, fake_wechat):
        user = await make_wechat_user(openid="o-wang")
        await grant_consents(user, ANNOUNCE_TEMPLATE, 2)
        done = await notify([user], "announcement", {"title": "明天上午九点到十一点停水请各位居民提前储水", "unit_name": "3号楼",
                                                     "link": "pages/notifications/index"})
        await drain(settings, bus)
        delivery = await _delivery_of(done, user)
        assert delivery.status == DeliveryStatus.SENT and delivery.msgid
        [sent] = fake_wechat.sent
        assert sent["touser"] == "o-wang" and sent["template_id"] == ANNOUNCE_TEMPLATE
        assert sent["data"]["thing1"]["value"] == "明天上午九点到十一点停水请各位居民提前储"  # truncated to 20 by the template
        assert sent["data"]["thing3"]["value"] == "3号楼" and sent["page"] == "pages/notifications/index"
        assert await WechatConsent.filter(user=user, spent_at__isnull=False).count() == 1
        assert await WechatConsent.filter(user=user, spent_by=delivery.id).count() == 1

    async def test_an_over_long_thing_is_refused_before_any_http_call(self, settings, bus, fake_wechat):
        user = await make_wechat_user()
        await grant_consents(user, ALERT_TEMPLATE)
        done = await notify([user], "test.alert", {"title": "这是一个超过二十个字的标题会被微信拒绝的通知", "state": "待处理"})
        await drain(settings, bus)
        delivery = await _delivery_of(done, user)
        assert delivery.status == DeliveryStatus.INVALID and "thing1" in delivery.last_error
        event = await _outbox()
        assert event.status == OutboxStatus.DEAD and "thing1" in event.last_error
        assert dict(fake_wechat.calls) == {}  # not even an access token was fetched
        assert await WechatConsent.filter(spent_at__isnull=True).count() == 1  # the consent is not spent

    async def test_without_a_consent_nothing_is_sent(self, settings, bus, fake_wechat):
        user = await make_wechat_user()
        done = await notify([user], "announcement", {"title": "通知", "unit_name": "社区"})
        await drain(settings, bus)
        assert (await _delivery_of(done, user)).status == DeliveryStatus.NO_CONSENT
        assert fake_wechat.calls["subscribe_send"] == 0

    async def test_43101_marks_the_consent_spent_and_is_never_retried(self, settings, bus, fake_wechat):
        user = await make_wechat_user()
        await grant_consents(user, ANNOUNCE_TEMPLATE)
        fake_wechat.fail("subscribe_send", errcode=43101)
        done = await notify([user], "announcement", {"title": "通知", "unit_name": "社区"})
        await drain(settings, bus)
        await drain(settings, bus)
        delivery = await _delivery_of(done, user)
        assert delivery.status == DeliveryStatus.REJECTED and "43101" in delivery.last_error
        assert fake_wechat.calls["subscribe_send"] == 1
        assert (await _outbox()).status == OutboxStatus.DONE
        assert await WechatConsent.filter(spent_at__isnull=True).count() == 0

    async def test_system_busy_is_retried_with_backoff_on_the_same_consent(self, settings, bus, fake_wechat):
        user = await make_wechat_user()
        await grant_consents(user, ANNOUNCE_TEMPLATE, 2)
        fake_wechat.fail("subscribe_send", errcode=-1, times=3)  # the client's own two quick retries, then ours
        done = await notify([user], "announcement", {"title": "通知", "unit_name": "社区"})
        worker = Worker(settings.model_copy(update={"outbox_backoff_base_seconds": 30.0}), bus)
        before = utcnow()
        assert await worker.run_due() == 2  # the push and the WeChat send
        event = await _outbox()
        assert event.status == OutboxStatus.PENDING and event.attempts == 1 and "-1" in event.last_error
        assert event.run_at >= before + timedelta(seconds=20)  # backed off, not hammered
        delivery = await _delivery_of(done, user)
        assert delivery.status == DeliveryStatus.SENDING and delivery.consent_id is not None
        await drain(settings, bus)
        await delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
        assert fake_wechat.calls["subscribe_send"] == 4 and len(fake_wechat.sent) == 1
        assert await WechatConsent.filter(spent_at__isnull=False).count() == 1  # one consent for one message

    async def test_other_errcodes_give_the_consent_back_and_dead_letter_with_the_reason(self, settings, bus, fake_wechat):
        user = await make_wechat_user()
        await grant_consents(user, ANNOUNCE_TEMPLATE)
        fake_wechat.fail("subscribe_send", errcode=40003)
        done = await notify([user], "announcement", {"title": "通知", "unit_name": "社区"})
        await drain(settings, bus)
        delivery = await _delivery_of(done, user)
        assert delivery.status == DeliveryStatus.FAILED and "40003" in delivery.last_error
        event = await _outbox()
        assert event.status == OutboxStatus.DEAD and "40003" in event.last_error and event.attempts == 1
        assert await WechatConsent.filter(spent_at__isnull=True).count() == 1

    async def test_no_wechat_account_and_wechat_disabled_are_recorded(self, settings, nsettings, bus):
        from tests.builders import make_user

        phoneless = await make_user(Role.RESIDENT)
        done = await notify([phoneless], "announcement", {"title": "通知", "unit_name": "社区"})
        await drain(settings, bus)
        assert (await _delivery_of(done, phoneless)).status == DeliveryStatus.NO_ACCOUNT
        runtime.configure(nsettings.model_copy(update={"wechat_appid": "wx-dev-appid"}))
        user = await make_wechat_user()
        done = await notify([user], "announcement", {"title": "通知", "unit_name": "社区"})
        await drain(settings, bus)
        assert (await _delivery_of(done, user)).status == DeliveryStatus.DISABLED


class TestConcurrency:
    async def test_fifty_concurrent_sends_with_an_expired_token_refresh_it_once(self, fake_wechat):
        users = [await make_wechat_user() for _ in range(50)]
        for user in users:
            await grant_consents(user, ANNOUNCE_TEMPLATE)
        done = await notify(users, "announcement", {"title": "全体通知", "unit_name": "社区"})
        deliveries = await WechatDelivery.filter(item_id__in=list(done.items.values()))
        await runtime.wechat().access_token()  # a token is cached…
        fake_wechat.expire_tokens()  # …and WeChat has expired it
        fake_wechat.token_delay = 0.2  # a slow refresh makes the others pile up behind it
        outcomes = await asyncio.gather(*(subscribe.deliver(d.id) for d in deliveries))
        assert outcomes == ["sent"] * 50
        assert fake_wechat.calls["stable_token"] == 2  # the first token, and one refresh for all fifty
        assert len(fake_wechat.sent) == 50

    async def test_one_consent_is_spent_by_exactly_one_of_many_racing_sends(self, fake_wechat):
        user = await make_wechat_user()
        await grant_consents(user, ANNOUNCE_TEMPLATE, 3)
        events = [await notify([user], "announcement", {"title": f"通知{i}", "unit_name": "社区"}) for i in range(10)]
        deliveries = [await _delivery_of(e, user) for e in events]
        outcomes = await asyncio.gather(*(subscribe.deliver(d.id) for d in deliveries))
        assert sorted(outcomes) == ["no_consent"] * 7 + ["sent"] * 3
        assert len(fake_wechat.sent) == 3
        spent = await WechatConsent.filter(user=user).values_list("spent_by", flat=True)
        assert len(set(spent)) == 3 and None not in spent

    async def test_urgent_items_without_wechat_show_up_for_staff(self, client, settings, bus):
        from tests.builders import make_org_tree, make_user

        tree = await make_org_tree(communities=1, grids=1)
        resident = await make_wechat_user(Role.RESIDENT, household=tree.household(0, 0, 0), name="赵桂兰")
        staff = await make_user(Role.GRID_WORKER, tree.grid(0, 0))
        done = await notify([resident], "announcement", {"title": "燃气泄漏请撤离", "unit_name": "1号楼"},
                            urgency=Urgency.URGENT)
        await drain(settings, bus)
        page = (await client.get("/api/v1/notifications/unreachable", headers=await auth_headers(settings, staff))).json()
        [row] = page["items"]
        assert row["user_name"] == "赵桂兰" and row["status"] == "no_consent" and row["reason"] == "订阅次数已用完"
        assert row["item_id"] == done.items[resident.id] and "****" in row["phone_masked"]
