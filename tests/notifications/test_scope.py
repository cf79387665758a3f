"""Role × scope on every notifications route: who may call it, and what lies outside their area (404, not 403).
Bad input gets a 4xx in the one error shape and writes nothing."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.notifications import InboxItem, NotificationEvent, Urgency, WechatDelivery
from backend.models.user import Role
from backend.notifications.service import notify
from tests.builders import auth_headers, make_department, make_org_tree, make_user
from tests.notifications.conftest import drain

WHO = ["grid_worker_A", "grid_leader_A", "building_head", "community_staff_1", "community_staff_2", "street_staff",
       "admin", "resident", "volunteer", "department", "nobody"]


@pytest.fixture
async def world(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2, households=2)
    people = {
        "grid_worker_A": await make_user(Role.GRID_WORKER, tree.grid(0, 0)),
        "grid_leader_A": await make_user(Role.GRID_LEADER, tree.grid(0, 0)),
        "building_head": await make_user(Role.BUILDING_HEAD, tree.building(0, 0)),
        "community_staff_1": await make_user(Role.COMMUNITY_STAFF, tree.community(0)),
        "community_staff_2": await make_user(Role.COMMUNITY_STAFF, tree.community(1)),
        "street_staff": await make_user(Role.STREET_STAFF, tree.street),
        "admin": await make_user(Role.ADMIN),
        "resident": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 0, 0)),
        "volunteer": await make_user(Role.VOLUNTEER, tree.community(0)),
        "department": await make_user(Role.DEPARTMENT_STAFF, department=await make_department(tree.street)),
        "nobody": await make_user(),
    }
    # residents to notify: one in grid A (community 1), one in grid B (community 1), one in community 2
    targets = {
        "in_grid_A": await make_user(Role.RESIDENT, household=tree.household(0, 0, 1), name="甲"),
        "in_grid_B": await make_user(Role.RESIDENT, household=tree.household(0, 1, 0), name="乙"),
        "in_community_2": await make_user(Role.RESIDENT, household=tree.household(1, 0, 0), name="丙"),
    }
    headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return tree, people, targets, headers


ANNOUNCE = {  # who -> expected status for an announcement to (grid A, grid B, community 2)
    "grid_worker_A": (201, 404, 404), "grid_leader_A": (201, 404, 404), "building_head": (403, 403, 403),
    "community_staff_1": (201, 201, 404), "community_staff_2": (404, 404, 201), "street_staff": (201, 201, 201),
    "admin": (201, 201, 201), "resident": (403, 403, 403), "volunteer": (403, 403, 403),
    "department": (403, 403, 403), "nobody": (403, 403, 403),
}
SEES = {  # who -> which unreachable people they see
    "grid_worker_A": {"in_grid_A"}, "grid_leader_A": {"in_grid_A"}, "community_staff_1": {"in_grid_A", "in_grid_B"},
    "community_staff_2": {"in_community_2"}, "street_staff": {"in_grid_A", "in_grid_B", "in_community_2"},
    "admin": {"in_grid_A", "in_grid_B", "in_community_2"},
}


class TestAnnouncements:
    @pytest.mark.parametrize("who", WHO)
    async def test_who_may_announce_where(self, client, world, who):
        tree, _, _, headers = world
        units = [tree.grid(0, 0), tree.grid(0, 1), tree.community(1)]
        got = []
        for unit in units:
            resp = await client.post("/api/v1/notifications/announcements", headers=headers[who],
                                     json={"unit_id": unit.id, "audience": "residents", "title": "通知"})
            got.append(resp.status_code)
            if resp.status_code >= 400:
                assert set(resp.json()) == {"error", "message", "detail"}
        assert tuple(got) == ANNOUNCE[who]
        assert await NotificationEvent.all().count() == got.count(201)
        assert await AuditLog.filter(action="notifications:announce").count() == got.count(201)

    async def test_audiences(self, client, world):
        tree, people, targets, headers = world
        grid_a = tree.grid(0, 0).id
        expected = {
            "residents": {people["resident"].id, targets["in_grid_A"].id},
            "staff": {people["grid_worker_A"].id, people["grid_leader_A"].id},
            "volunteers": None,  # the volunteer is registered at community level, not inside the grid
        }
        for audience, who in expected.items():
            resp = await client.post("/api/v1/notifications/announcements", headers=headers["community_staff_1"],
                                     json={"unit_id": grid_a, "audience": audience, "title": "通知"})
            if who is None:
                assert resp.status_code == 422 and resp.json()["error"] == "AudienceEmpty"
                continue
            assert resp.status_code == 201, resp.text
            got = set(await InboxItem.filter(event_id=resp.json()["event_id"]).values_list("user_id", flat=True))
            assert got == who
        resp = await client.post("/api/v1/notifications/announcements", headers=headers["community_staff_1"],
                                 json={"unit_id": tree.community(0).id, "audience": "everyone", "title": "通知"})
        got = set(await InboxItem.filter(event_id=resp.json()["event_id"]).values_list("user_id", flat=True))
        assert people["volunteer"].id in got and people["community_staff_1"].id not in got  # not to oneself
        assert targets["in_community_2"].id not in got

    @pytest.mark.parametrize("body", [
        {"unit_id": 1, "audience": "residents"}, {"unit_id": 1, "audience": "aliens", "title": "x"},
        {"unit_id": 0, "audience": "residents", "title": "x"}, {"unit_id": 1, "audience": "residents", "title": ""},
        {"unit_id": 1, "audience": "residents", "title": "x" * 65},
        {"unit_id": 1, "audience": "residents", "title": "x", "link": "https://evil.example/phish"},
        {"unit_id": 1, "audience": "residents", "title": "x", "urgency": "panic"},
    ])
    async def test_bad_bodies(self, client, world, body):
        _, _, _, headers = world
        resp = await client.post("/api/v1/notifications/announcements", json=body, headers=headers["admin"])
        assert resp.status_code == 422, resp.text
        assert await NotificationEvent.all().count() == 0


class TestUnreachable:
    @pytest.fixture
    async def undelivered(self, world, settings, bus):  # type: ignore[no-untyped-def]
        _, _, targets, _ = world
        done = await notify(list(targets.values()), "announcement", {"title": "燃气泄漏", "unit_name": "社区"},
                            urgency=Urgency.URGENT)
        await notify(list(targets.values()), "announcement", {"title": "普通通知", "unit_name": "社区"})
        await drain(settings, bus)  # nobody has WeChat: every urgent delivery fails to reach them
        return {name: await WechatDelivery.get(item_id=done.items[u.id]) for name, u in targets.items()}

    @pytest.mark.parametrize("who", WHO)
    async def test_each_staff_member_sees_the_people_of_their_area(self, client, world, undelivered, who):
        _, _, targets, headers = world
        resp = await client.get("/api/v1/notifications/unreachable", headers=headers[who])
        if who not in SEES:
            assert resp.status_code == 403 and resp.json()["error"] == "Forbidden"
            return
        names = {r["user_name"] for r in resp.json()["items"]}
        assert names == {targets[t].name for t in SEES[who]}
        assert {r["status"] for r in resp.json()["items"]} == {"no_account"}

    @pytest.mark.parametrize("who", ["grid_worker_A", "community_staff_1", "community_staff_2", "street_staff", "admin"])
    async def test_resolving_outside_ones_area_is_not_found(self, client, world, undelivered, who):
        _, _, _, headers = world
        delivery = undelivered["in_grid_A"]
        resp = await client.post(f"/api/v1/notifications/unreachable/{delivery.id}/resolve",
                                 json={"note": "已电话通知本人"}, headers=headers[who])
        if "in_grid_A" not in SEES[who]:
            assert resp.status_code == 404 and resp.json()["error"] == "DeliveryNotFound"
            return
        assert resp.status_code == 200 and resp.json()["resolution_note"] == "已电话通知本人"
        again = await client.post(f"/api/v1/notifications/unreachable/{delivery.id}/resolve",
                                  json={"note": "再次"}, headers=headers[who])
        assert again.status_code == 409 and again.json()["error"] == "AlreadyResolved"
        listed = (await client.get("/api/v1/notifications/unreachable", headers=headers[who])).json()["items"]
        assert delivery.id not in [r["delivery_id"] for r in listed]
        with_resolved = (await client.get("/api/v1/notifications/unreachable", params={"resolved": True},
                                          headers=headers[who])).json()["items"]
        assert delivery.id in [r["delivery_id"] for r in with_resolved]

    async def test_reading_the_item_takes_it_off_the_list(self, client, settings, world, undelivered):
        _, _, targets, headers = world
        delivery = undelivered["in_grid_A"]
        own = await auth_headers(settings, targets["in_grid_A"])
        assert (await client.post(f"/api/v1/notifications/{delivery.item_id}/read", headers=own)).status_code == 200
        listed = (await client.get("/api/v1/notifications/unreachable", headers=headers["admin"])).json()["items"]
        assert delivery.id not in [r["delivery_id"] for r in listed]
        resp = await client.post(f"/api/v1/notifications/unreachable/{delivery.id}/resolve",
                                 json={"note": "x"}, headers=headers["admin"])
        assert resp.status_code == 200  # staff may still record a call they made


class TestEveryoneHasAnInbox:
    @pytest.mark.parametrize("who", WHO)
    async def test_personal_routes_work_for_every_role(self, client, world, who):
        _, people, _, headers = world
        await notify([people[who]], "test.info", {"title": "给你的"})
        h = headers[who]
        page = (await client.get("/api/v1/notifications", headers=h)).json()
        assert [i["title"] for i in page["items"]] == ["给你的"] and page["unread"] == 1
        for method, path, body in [
            ("GET", "/api/v1/notifications/unread-count", None), ("GET", "/api/v1/notifications/preferences", None),
            ("PUT", "/api/v1/notifications/preferences", {"muted_kinds": []}),
            ("GET", "/api/v1/notifications/templates", None), ("GET", "/api/v1/notifications/subscriptions", None),
            ("GET", "/api/v1/notifications/presence", None), ("POST", "/api/v1/notifications/read-all", {}),
        ]:
            resp = await client.request(method, path, json=body, headers=h)
            assert resp.status_code == 200, (path, resp.text)
