"""The ledger over HTTP, as residents, volunteers and staff use it."""

from __future__ import annotations

import io

import openpyxl
import pytest

from backend.ledger.rules import CommunityRules, save
from backend.models.audit import AuditLog
from backend.models.ledger import Currency, PendingAward, Transfer, TransferKind
from tests.ledger.conftest import award_points, balance_of, credit, ledger_counts

L = "/api/v1/ledger"


@pytest.fixture
async def store(world):  # type: ignore[no-untyped-def]
    from backend.ledger import service as ledger

    await ledger.open_store_account(9, community=world.community, name="土门墩爱心超市", actor_id=None)
    return 9


class TestMyLedger:
    async def test_a_new_person_sees_zero_balances_without_accounts_being_opened(self, client, world):
        resp = await client.get(f"{L}/me", headers=world.headers["resident"])
        assert resp.status_code == 200
        body = resp.json()
        assert body["hours"] == {"currency": "hour", "account_id": None, "balance": 0, "min_balance": 0}
        assert body["stars"] == 0 and body["next_star_hours"] == 20 and body["show_on_leaderboard"] is True
        assert await ledger_counts() == (0, 0)

    async def test_statement_pages_newest_first_with_running_balance(self, client, world):
        for minutes in range(10, 80, 10):
            await credit(world["volunteer"], community=world.community, minutes=minutes)
        h = world.headers["volunteer"]
        first = (await client.get(f"{L}/me/statement?currency=hour&limit=3", headers=h)).json()
        assert [(i["amount"], i["balance_after"]) for i in first["items"]] == [(70, 280), (60, 210), (50, 150)]
        assert first["items"][0]["kind"] == "earn_activity" and first["items"][0]["kind_label"] == "参加活动"
        rest = (await client.get(f"{L}/me/statement?currency=hour&limit=10&cursor={first['next_cursor']}",
                                 headers=h)).json()
        assert [i["amount"] for i in rest["items"]] == [40, 30, 20, 10] and rest["next_cursor"] is None

    async def test_monthly_statement_sums_by_kind(self, client, world, store):
        from backend.ledger.statements import current_month

        await credit(world["volunteer"], community=world.community, minutes=120)  # +20 points
        await award_points(world["volunteer"], community=world.community, points=15, actor=world["staff"])
        resp = await client.post(f"{L}/me/redemptions", headers=world.headers["volunteer"],
                                 json={"store_id": store, "points": 12, "idempotency_key": "r1"})
        assert resp.status_code == 201
        month = current_month()
        body = (await client.get(f"{L}/me/statements/{month}?currency=point",
                                 headers=world.headers["volunteer"])).json()
        assert (body["opening_balance"], body["closing_balance"], body["credits"], body["debits"]) == (0, 23, 35, 12)
        assert {k["kind"]: (k["credits"], k["debits"]) for k in body["by_kind"]} == {
            "award": (15, 0), "earn_activity": (20, 0), "redeem_goods": (0, 12)}
        empty = (await client.get(f"{L}/me/statements/2001-01?currency=point", headers=world.headers["volunteer"]))
        assert empty.json()["closing_balance"] == 0

    async def test_export_is_a_real_workbook(self, client, world):
        await credit(world["volunteer"], community=world.community, minutes=90)
        resp = await client.get(f"{L}/me/export.xlsx?currency=hour", headers=world.headers["volunteer"])
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/vnd.openxml")
        sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:3] == ("流水号", "时间", "类型") and rows[2][2] == "参加活动"
        assert rows[2][5] == 1.5 and rows[2][7] == 1.5  # hours, not minutes
        none = await client.get(f"{L}/me/export.xlsx?currency=point", headers=world.headers["resident"])
        assert none.status_code == 404 and none.json()["error"] == "AccountNotFound"


class TestGifts:
    async def test_hours_go_to_a_parent_once_per_key(self, client, world):
        await credit(world["volunteer"], community=world.community, minutes=300)
        body = {"to_phone": world["parent"].phone, "minutes": 120, "relation": "父母", "idempotency_key": "g-1"}
        first = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json=body)
        again = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json=body)
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["replayed"] is True and again.json()["id"] == first.json()["id"]
        assert await balance_of(world["parent"], Currency.HOUR) == 120
        assert await balance_of(world["volunteer"], Currency.HOUR) == 180
        me = (await client.get(f"{L}/me", headers=world.headers["volunteer"])).json()
        assert me["gift_used_minutes"] == 120 and me["earned_minutes"] == 300

    async def test_the_yearly_cap_holds_and_nothing_moves_beyond_it(self, client, world):
        await save(world.community.id, CommunityRules(gift_yearly_cap_minutes=100), actor_id=world["staff"].id)
        await credit(world["volunteer"], community=world.community, minutes=300)
        ok = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json={
            "to_phone": world["parent"].phone, "minutes": 60, "relation": "父母", "idempotency_key": "g-1"})
        over = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json={
            "to_phone": world["parent"].phone, "minutes": 41, "relation": "父母", "idempotency_key": "g-2"})
        assert ok.status_code == 201
        assert over.status_code == 409 and over.json()["error"] == "GiftCapExceeded"
        assert await balance_of(world["parent"], Currency.HOUR) == 60

    async def test_a_reversed_gift_gives_its_minutes_back_to_the_cap(self, client, world):
        await save(world.community.id, CommunityRules(gift_yearly_cap_minutes=100), actor_id=world["staff"].id)
        await credit(world["volunteer"], community=world.community, minutes=300)
        gift = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json={
            "to_phone": world["parent"].phone, "minutes": 100, "relation": "父母", "idempotency_key": "g-1"})
        resp = await client.post(f"{L}/transfers/{gift.json()['id']}/reversal", headers=world.headers["staff"],
                                 json={"reason": "转错了人"})
        assert resp.status_code == 201
        again = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json={
            "to_phone": world["parent"].phone, "minutes": 100, "relation": "父母", "idempotency_key": "g-2"})
        assert again.status_code == 201

    @pytest.mark.parametrize(("change", "status", "error"), [
        ({"to_phone": "13999999999"}, 404, "RecipientNotFound"),
        ({"minutes": 5000}, 422, "ValidationFailed"),
        ({"relation": "朋友"}, 422, "ValidationFailed"),
        ({"minutes": 500}, 409, "InsufficientBalance"),
        ({"extra": 1}, 422, "ValidationFailed"),
    ])
    async def test_bad_gifts_write_nothing(self, client, world, change, status, error):
        await credit(world["volunteer"], community=world.community, minutes=300)
        before = await ledger_counts()
        body = {"to_phone": world["parent"].phone, "minutes": 60, "relation": "父母", "idempotency_key": "g", **change}
        resp = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json=body)
        assert (resp.status_code, resp.json()["error"]) == (status, error)
        assert resp.json()["message"] and await ledger_counts() == before

    async def test_gifting_to_oneself_is_refused(self, client, world):
        resp = await client.post(f"{L}/me/gifts", headers=world.headers["volunteer"], json={
            "to_phone": world["volunteer"].phone, "minutes": 1, "relation": "父母", "idempotency_key": "g"})
        assert resp.status_code == 400


class TestRedemption:
    async def test_preview_then_redeem(self, client, world, store):
        await award_points(world["resident"], community=world.community, points=50, actor=world["staff"])
        h = world.headers["resident"]
        preview = (await client.get(f"{L}/me/redemptions/preview?store_id={store}&points=80", headers=h)).json()
        assert preview == {"balance": 50, "min_balance": 0, "points": 80, "balance_after": -30, "enough": False,
                           "shortfall": 30}
        resp = await client.post(f"{L}/me/redemptions", headers=h,
                                 json={"store_id": store, "points": 30, "note": "大米一袋", "idempotency_key": "o1"})
        assert resp.status_code == 201 and resp.json()["kind"] == "redeem_goods"
        assert resp.json()["reason"] == "大米一袋"
        assert await balance_of(world["resident"], Currency.POINT) == 20
        short = await client.post(f"{L}/me/redemptions", headers=h,
                                  json={"store_id": store, "points": 30, "idempotency_key": "o2"})
        assert short.status_code == 409 and short.json()["error"] == "InsufficientBalance"
        unknown = await client.post(f"{L}/me/redemptions", headers=h,
                                    json={"store_id": 12345, "points": 1, "idempotency_key": "o3"})
        assert unknown.status_code == 404 and unknown.json()["error"] == "StoreNotFound"

    async def test_keys_are_per_person(self, client, world, store):
        for who in ("resident", "volunteer"):
            await award_points(world[who], community=world.community, points=10, actor=world["staff"])
            resp = await client.post(f"{L}/me/redemptions", headers=world.headers[who],
                                     json={"store_id": store, "points": 10, "idempotency_key": "same"})
            assert resp.status_code == 201
        assert await Transfer.filter(kind=TransferKind.REDEEM_GOODS).count() == 2


class TestStaffPosting:
    async def test_staff_record_activity_hours_once_per_activity(self, client, world):
        body = {"user_id": world["volunteer"].id, "kind": "earn_activity", "minutes": 90, "activity_id": 5,
                "idempotency_key": "a"}
        first = await client.post(f"{L}/earnings", headers=world.headers["staff"], json=body)
        other_key = await client.post(f"{L}/earnings", headers=world.headers["staff_2"],
                                      json={**body, "idempotency_key": "b"})
        assert first.status_code == 201 and other_key.status_code == 200 and other_key.json()["replayed"]
        assert await balance_of(world["volunteer"], Currency.HOUR) == 90

    async def test_service_minutes_come_from_the_communitys_rules(self, client, world):
        await save(world.community.id, CommunityRules(help_base_minutes=40, points_per_hour=0),
                   actor_id=world["staff"].id)
        resp = await client.post(f"{L}/earnings", headers=world.headers["staff"], json={
            "user_id": world["volunteer"].id, "kind": "earn_service", "task_kind": "help", "task_id": 3,
            "idempotency_key": "a"})
        assert resp.status_code == 201 and len(resp.json()["entries"]) == 2
        assert await balance_of(world["volunteer"], Currency.HOUR) == 40

    async def test_small_awards_post_at_once_and_are_audited(self, client, world):
        resp = await client.post(f"{L}/awards", headers=world.headers["staff"], json={
            "user_id": world["volunteer"].id, "currency": "point", "amount": 50, "reason": "抗疫表彰",
            "idempotency_key": "aw1"})
        assert resp.status_code == 201 and resp.json()["status"] == "posted"
        assert await AuditLog.filter(action="ledger:award", actor_id=world["staff"].id).count() == 1

    async def test_large_awards_need_a_second_staff_member(self, client, world):
        resp = await client.post(f"{L}/awards", headers=world.headers["staff"], json={
            "user_id": world["volunteer"].id, "currency": "hour", "amount": 900, "reason": "年度优秀志愿者",
            "idempotency_key": "aw1"})
        assert resp.status_code == 202 and resp.json()["status"] == "pending"
        award_id = resp.json()["pending"]["id"]
        assert await balance_of(world["volunteer"], Currency.HOUR) == 0
        listed = (await client.get(f"{L}/awards", headers=world.headers["staff_2"])).json()["items"]
        assert [a["id"] for a in listed] == [award_id]
        same = await client.post(f"{L}/awards/{award_id}/approve", headers=world.headers["staff"], json={})
        assert same.status_code == 403 and same.json()["error"] == "SameApprover"
        outside = await client.post(f"{L}/awards/{award_id}/approve", headers=world.headers["staff_other"], json={})
        assert outside.status_code == 404
        ok = await client.post(f"{L}/awards/{award_id}/approve", headers=world.headers["staff_2"], json={"note": "同意"})
        assert ok.status_code == 200 and ok.json()["kind"] == "award"
        twice = await client.post(f"{L}/awards/{award_id}/approve", headers=world.headers["street"], json={})
        assert twice.status_code == 409 and twice.json()["error"] == "AwardNotPending"
        assert await balance_of(world["volunteer"], Currency.HOUR) == 900
        pending = await PendingAward.get(id=award_id)
        assert (pending.status, pending.decided_by_id, pending.transfer_id) == (
            "approved", world["staff_2"].id, ok.json()["id"])
        assert await AuditLog.filter(action__startswith="ledger:award_").count() == 2

    async def test_a_rejected_award_pays_nothing(self, client, world):
        resp = await client.post(f"{L}/awards", headers=world.headers["staff"], json={
            "user_id": world["volunteer"].id, "currency": "point", "amount": 5000, "reason": "x",
            "idempotency_key": "aw1"})
        award_id = resp.json()["pending"]["id"]
        rejected = await client.post(f"{L}/awards/{award_id}/reject", headers=world.headers["staff"],
                                     json={"note": "撤回"})
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
        assert await ledger_counts() == (0, 0)

    async def test_reversal_once_and_audited(self, client, world):
        posted = await credit(world["volunteer"], community=world.community, minutes=60)
        url = f"{L}/transfers/{posted.transfer.id}/reversal"
        first = await client.post(url, headers=world.headers["staff"], json={"reason": "重复登记"})
        assert first.status_code == 201 and first.json()["reverses_id"] == posted.transfer.id
        assert await balance_of(world["volunteer"], Currency.HOUR) == 0
        hours = (await client.get(f"{L}/people/{world['volunteer'].id}", headers=world.headers["staff"])).json()
        assert hours["earned_minutes"] == 0  # a reversed credit is not lifetime service either
        second = await client.post(url, headers=world.headers["staff_2"], json={"reason": "再冲一次"})
        assert second.status_code == 409 and second.json()["error"] == "AlreadyReversed"
        of_reversal = await client.post(f"{L}/transfers/{first.json()['id']}/reversal",
                                        headers=world.headers["staff"], json={"reason": "x"})
        assert of_reversal.status_code == 409 and of_reversal.json()["error"] == "CannotReverse"
        assert await AuditLog.filter(action="ledger:reverse").count() == 1

    async def test_a_reversal_that_would_overdraw_is_refused(self, client, world, store):
        posted = await award_points(world["resident"], community=world.community, points=40, actor=world["staff"])
        await client.post(f"{L}/me/redemptions", headers=world.headers["resident"],
                          json={"store_id": store, "points": 30, "idempotency_key": "o"})
        resp = await client.post(f"{L}/transfers/{posted.transfer.id}/reversal", headers=world.headers["staff"],
                                 json={"reason": "发错了"})
        assert resp.status_code == 409 and resp.json()["error"] == "InsufficientBalance"


class TestRulesAndStores:
    async def test_staff_read_and_change_their_communitys_rules(self, client, world):
        url = f"{L}/rules/{world.community.id}"
        body = (await client.get(url, headers=world.headers["grid_worker"])).json()
        assert body["points_per_hour"] == 10 and body["expiry_years"] is None
        body.pop("community_id")
        body.update(points_per_hour=20, allowance_points={"is_elderly": 30})
        assert (await client.put(url, headers=world.headers["grid_worker"], json=body)).status_code == 403
        resp = await client.put(url, headers=world.headers["staff"], json=body)
        assert resp.status_code == 200 and resp.json()["points_per_hour"] == 20
        assert await AuditLog.filter(action="ledger:rules").count() == 1
        bad = await client.put(url, headers=world.headers["staff"], json={**body, "allowance_points": {"rich": 1}})
        assert bad.status_code == 422
        other = await client.put(f"{L}/rules/{world.other_community.id}", headers=world.headers["staff"], json=body)
        assert other.status_code == 404
        grid = await client.get(f"{L}/rules/{world.tree.grid(0, 0).id}", headers=world.headers["staff"])
        assert grid.status_code == 422 and grid.json()["error"] == "NotACommunity"

    async def test_opening_a_store_account_is_idempotent(self, client, world):
        body = {"store_id": 3, "community_id": world.community.id, "name": "爱心超市"}
        first = await client.post(f"{L}/stores", headers=world.headers["staff"], json=body)
        second = await client.post(f"{L}/stores", headers=world.headers["staff"], json=body)
        assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
        assert first.json()["owner_kind"] == "store" and first.json()["min_balance"] == 0
        outside = await client.post(f"{L}/stores", headers=world.headers["staff_other"], json=body)
        assert outside.status_code == 404


class TestLeaderboards:
    async def test_volunteers_ranked_by_hours_without_those_who_opted_out(self, client, world):
        await credit(world["volunteer"], community=world.community, minutes=600)
        await credit(world["volunteer_b"], community=world.community, minutes=1500)
        await credit(world["resident"], community=world.community, minutes=30)
        url = f"{L}/leaderboards/{world.community.id}"
        rows = (await client.get(url, headers=world.headers["resident"])).json()["rows"]
        assert [(r["name"], r["minutes"], r["stars"]) for r in rows] == [
            ("志愿者乙", 1500, 1), ("志愿者甲", 600, 0), ("居民甲", 30, 0)]  # 25 h: 1★ (20 h)
        opt = await client.put(f"{L}/me/preferences", headers=world.headers["volunteer_b"],
                               json={"show_on_leaderboard": False})
        assert opt.status_code == 200 and opt.json()["show_on_leaderboard"] is False
        month = (await client.get(url + "?period=month", headers=world.headers["resident"])).json()["rows"]
        assert [r["name"] for r in month] == ["志愿者甲", "居民甲"]

    async def test_a_grid_board_shows_the_grids_people(self, client, world):
        await credit(world["volunteer"], community=world.community, minutes=60)  # household in grid (0, 0)
        await credit(world["volunteer_b"], community=world.community, minutes=60)  # household in grid (0, 1)
        rows = (await client.get(f"{L}/leaderboards/{world.tree.grid(0, 0).id}?period=year",
                                 headers=world.headers["grid_worker"])).json()["rows"]
        assert [r["name"] for r in rows] == ["志愿者甲"]

    async def test_other_communities_boards_are_not_found(self, client, world):
        resp = await client.get(f"{L}/leaderboards/{world.other_community.id}", headers=world.headers["resident"])
        assert resp.status_code == 404
        street = await client.get(f"{L}/leaderboards/{world.tree.street.id}", headers=world.headers["street"])
        assert street.status_code == 404
