"""Role × scope on every ledger route: residents see only their own ledger, staff see the people and places in
their scope, and anything outside it is 404 (not 403), in the one error shape, with nothing written."""

from __future__ import annotations

import pytest

from backend.ledger import service as ledger
from backend.models.ledger import Account, Currency, OwnerKind
from tests.ledger.conftest import award_points, credit, ledger_counts

L = "/api/v1/ledger"
EVERYONE = ("volunteer", "resident", "outsider", "grid_worker", "grid_worker_other", "staff", "staff_other",
            "street", "admin", "nobody")


@pytest.fixture
async def objects(world):  # type: ignore[no-untyped-def]
    posted = await credit(world["volunteer"], community=world.community, minutes=60)
    await award_points(world["outsider"], community=world.other_community, points=5, actor=world["staff_other"])
    hours = await Account.get(owner_kind=OwnerKind.USER, owner_id=world["volunteer"].id, currency=Currency.HOUR)
    issuer = await Account.get(owner_kind=OwnerKind.ISSUER, owner_id=world.community.id, currency=Currency.HOUR)
    pending = (await ledger.award(world["volunteer"].id, community=world.community, currency=Currency.POINT,
                                  amount=10_000, reason="大额", actor_id=world["staff"].id)).pending
    return {"hours": hours.id, "issuer": issuer.id, "transfer": posted.transfer.id, "pending": pending.id,
            "volunteer": world["volunteer"].id}


def _expect(who: str, allowed: set[str]) -> int:
    staff = {"grid_worker", "grid_worker_other", "staff", "staff_other", "street", "admin"}
    return 200 if who in allowed else 404 if who in staff else 403


READS = [
    ("/accounts/{hours}", {"grid_worker", "staff", "street", "admin"}),
    ("/accounts/{hours}/statement", {"grid_worker", "staff", "street", "admin"}),
    ("/accounts/{hours}/statements/2026-01", {"grid_worker", "staff", "street", "admin"}),
    ("/accounts/{hours}/export.xlsx", {"grid_worker", "staff", "street", "admin"}),
    ("/accounts/{issuer}", {"staff", "street", "admin"}),
    ("/people/{volunteer}", {"grid_worker", "staff", "street", "admin"}),
    ("/transfers/{transfer}", {"staff", "street", "admin"}),
]


class TestReads:
    @pytest.mark.parametrize("who", EVERYONE)
    @pytest.mark.parametrize(("path", "allowed"), READS)
    async def test_get(self, client, world, objects, who, path, allowed):
        resp = await client.get(L + path.format(**objects), headers=world.headers[who])
        expected = _expect(who, allowed)
        assert resp.status_code == expected, resp.text
        if expected != 200:
            assert set(resp.json()) == {"error", "message", "detail"}

    @pytest.mark.parametrize(("who", "sees"), [
        ("staff", {"志愿者甲", "社区1发行账户"}), ("staff_other", {"外社区居民", "社区2发行账户"}),
        ("grid_worker", {"志愿者甲"}), ("grid_worker_other", set()),
        ("street", {"志愿者甲", "外社区居民", "社区1发行账户", "社区2发行账户"}),
    ])
    async def test_account_lists_show_only_the_scope(self, client, world, objects, who, sees):
        resp = await client.get(f"{L}/accounts?limit=100", headers=world.headers[who])
        assert {a["owner_name"] for a in resp.json()["items"]} == sees

    @pytest.mark.parametrize(("who", "count"), [("staff", 1), ("staff_other", 1), ("street", 2), ("grid_worker", 0)])
    async def test_transfer_lists_show_only_the_scope(self, client, world, objects, who, count):
        resp = await client.get(f"{L}/transfers?limit=100", headers=world.headers[who])
        assert resp.status_code == 200 and len(resp.json()["items"]) == count

    @pytest.mark.parametrize(("who", "count"), [("staff", 1), ("staff_2", 1), ("staff_other", 0), ("admin", 1)])
    async def test_pending_awards_show_only_the_scope(self, client, world, objects, who, count):
        resp = await client.get(f"{L}/awards", headers=world.headers[who])
        assert len(resp.json()["items"]) == count

    async def test_anonymous_callers_get_401(self, client, world, objects):
        for path in ("/me", "/accounts", f"/accounts/{objects['hours']}", f"/leaderboards/{world.community.id}"):
            assert (await client.get(L + path)).status_code == 401


WRITES = [
    ("/earnings", lambda o, w: {"user_id": o["volunteer"], "kind": "earn_activity", "minutes": 30,
                                "idempotency_key": "k"}),
    ("/awards", lambda o, w: {"user_id": o["volunteer"], "currency": "point", "amount": 5, "reason": "x",
                              "idempotency_key": "k"}),
    ("/transfers/{transfer}/reversal", lambda o, w: {"reason": "x"}),
    ("/awards/{pending}/reject", lambda o, w: {}),
    ("/stores", lambda o, w: {"store_id": 1, "community_id": w.community.id, "name": "超市"}),
]


class TestWrites:
    @pytest.mark.parametrize("who", EVERYONE)
    @pytest.mark.parametrize(("path", "body"), WRITES)
    async def test_only_community_staff_and_above_in_scope_write(self, client, world, objects, who, path, body):
        before = await ledger_counts()
        resp = await client.post(L + path.format(**objects), headers=world.headers[who], json=body(objects, world))
        writers = {"staff", "street", "admin"}
        if who in writers:
            assert resp.status_code in (200, 201), resp.text
        else:
            assert resp.status_code == (404 if who == "staff_other" else 403), resp.text
            assert set(resp.json()) == {"error", "message", "detail"}
            assert await ledger_counts() == before

    async def test_staff_cannot_credit_someone_outside_their_scope(self, client, world, objects):
        resp = await client.post(f"{L}/earnings", headers=world.headers["staff"], json={
            "user_id": world["outsider"].id, "kind": "earn_activity", "minutes": 30, "idempotency_key": "k"})
        assert resp.status_code == 404

    async def test_nor_from_another_communitys_issuer(self, client, world, objects):
        before = await ledger_counts()
        resp = await client.post(f"{L}/earnings", headers=world.headers["staff"], json={
            "user_id": world["volunteer"].id, "community_id": world.other_community.id, "kind": "earn_activity",
            "minutes": 30, "idempotency_key": "k"})
        assert resp.status_code == 404 and await ledger_counts() == before

    async def test_residents_only_ever_touch_their_own_ledger(self, client, world, objects):
        mine = (await client.get(f"{L}/me", headers=world.headers["volunteer"])).json()
        theirs = (await client.get(f"{L}/me", headers=world.headers["outsider"])).json()
        assert mine["hours"]["balance"] == 60 and theirs["points"]["balance"] == 5 and theirs["hours"]["balance"] == 0


BAD_BODIES = [
    ("/earnings", {"user_id": 0, "kind": "earn_activity", "minutes": 30, "idempotency_key": "k"}, 422),
    ("/earnings", {"user_id": "{volunteer}", "kind": "salary", "minutes": 30, "idempotency_key": "k"}, 422),
    ("/earnings", {"user_id": "{volunteer}", "kind": "earn_activity", "minutes": -5, "idempotency_key": "k"}, 422),
    ("/earnings", {"user_id": "{volunteer}", "kind": "earn_activity", "minutes": 30}, 422),
    ("/earnings", {"user_id": "{volunteer}", "kind": "earn_activity", "idempotency_key": "k"}, 400),
    ("/earnings", {"user_id": "{volunteer}", "kind": "earn_activity", "minutes": 30, "idempotency_key": "含空格 k"}, 422),
    ("/earnings", {"user_id": 999999, "kind": "earn_activity", "minutes": 30, "idempotency_key": "k"}, 404),
    ("/awards", {"user_id": "{volunteer}", "currency": "gold", "amount": 5, "reason": "x", "idempotency_key": "k"}, 422),
    ("/awards", {"user_id": "{volunteer}", "currency": "hour", "amount": 1.5, "reason": "x", "idempotency_key": "k"},
     422),
    ("/awards", {"user_id": "{volunteer}", "currency": "hour", "amount": 5, "reason": "", "idempotency_key": "k"}, 422),
    ("/awards", {"user_id": "{volunteer}", "community_id": "{grid}", "currency": "hour", "amount": 5, "reason": "x",
                 "idempotency_key": "k"}, 404),
    ("/transfers/{transfer}/reversal", {}, 422),
    ("/transfers/999999/reversal", {"reason": "x"}, 404),
    ("/awards/999999/approve", {}, 404),
    ("/stores", {"store_id": 1, "community_id": "{grid}", "name": "超市"}, 404),
    ("/stores", {"store_id": -1, "community_id": "{community}", "name": "超市"}, 422),
]


class TestBadInput:
    @pytest.mark.parametrize(("path", "body", "status"), BAD_BODIES)
    async def test_bad_input_is_a_clear_4xx_and_writes_nothing(self, client, world, objects, path, body, status):
        values = {**objects, "grid": world.tree.grid(0, 0).id, "community": world.community.id}
        body = {k: int(v.format(**values)) if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()}
        before = await ledger_counts()
        resp = await client.post(L + path.format(**values), headers=world.headers["staff"], json=body)
        assert resp.status_code == status, resp.text
        payload = resp.json()
        assert set(payload) == {"error", "message", "detail"} and payload["message"]
        assert not payload["message"].isascii()  # a Chinese message
        assert await ledger_counts() == before

    @pytest.mark.parametrize("query", ["currency=gold", "currency=hour&limit=0", "currency=hour&limit=101",
                                       "currency=hour&cursor=%%%", ""])
    async def test_bad_queries(self, client, world, query):
        resp = await client.get(f"{L}/me/statement?{query}", headers=world.headers["volunteer"])
        assert resp.status_code in (400, 422) and resp.json()["error"]

    @pytest.mark.parametrize("month", ["2026-13", "26-01", "2026-1", "latest"])
    async def test_bad_months(self, client, world, month):
        resp = await client.get(f"{L}/me/statements/{month}?currency=hour", headers=world.headers["volunteer"])
        assert resp.status_code == 422
