"""Staff manage people and role grants within their scope; phones are masked unless revealed (and logged)."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.user import Role, RoleGrant, User
from tests.builders import auth_headers, make_department, make_org_tree, make_user


@pytest.fixture
async def world(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2)
    people = {
        "community_staff_1": await make_user(Role.COMMUNITY_STAFF, tree.community(0), name="社区甲"),
        "grid_worker_A": await make_user(Role.GRID_WORKER, tree.grid(0, 0), name="网格员甲"),
        "grid_leader_A": await make_user(Role.GRID_LEADER, tree.grid(0, 0), name="网格长甲"),
        "street_staff": await make_user(Role.STREET_STAFF, tree.street, name="街道甲"),
        "admin": await make_user(Role.ADMIN, name="管理员"),
        "resident_A": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 0), name="居民甲"),
        "resident_B": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 1), name="居民乙"),
        "resident_2": await make_user(Role.RESIDENT, tree.community(1), household=tree.household(1, 0), name="居民丙"),
    }
    headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return tree, people, headers


class TestMe:
    async def test_me_lists_every_role_with_its_place(self, client, world, settings):
        tree, people, _ = world
        user = people["grid_worker_A"]
        await RoleGrant.create(user=user, role=Role.VOLUNTEER, org_unit=tree.community(0))
        me = (await client.get("/api/v1/me", headers=await auth_headers(settings, user))).json()
        assert {(r["role"], r["org_unit_path"]) for r in me["roles"]} == {
            ("grid_worker", "测试街道 / 社区1 / 社区1第1网格"), ("volunteer", "测试街道 / 社区1")}
        assert me["has_password"] is False and me["household"] is None

    async def test_me_shows_the_household(self, client, world):
        _, _, headers = world
        me = (await client.get("/api/v1/me", headers=headers["resident_A"])).json()
        assert me["household"]["label"] == "1号楼 1单元101"


class TestListAndRead:
    async def test_a_grid_worker_sees_people_of_their_grid_only(self, client, world):
        _, _, headers = world
        names = {u["name"] for u in (await client.get("/api/v1/users", headers=headers["grid_worker_A"])).json()["items"]}
        assert names == {"网格员甲", "网格长甲", "居民甲"}

    async def test_community_staff_see_their_community(self, client, world):
        _, _, headers = world
        names = {u["name"] for u in (await client.get("/api/v1/users?limit=100", headers=headers["community_staff_1"])).json()["items"]}
        assert names == {"社区甲", "网格员甲", "网格长甲", "居民甲", "居民乙"}

    async def test_filter_by_role(self, client, world):
        _, _, headers = world
        names = {u["name"] for u in (await client.get("/api/v1/users?role=resident", headers=headers["street_staff"])).json()["items"]}
        assert names == {"居民甲", "居民乙", "居民丙"}

    async def test_residents_cannot_list_people(self, client, world):
        _, _, headers = world
        assert (await client.get("/api/v1/users", headers=headers["resident_A"])).status_code == 403

    async def test_someone_outside_scope_is_a_404(self, client, world):
        _, people, headers = world
        resp = await client.get(f"/api/v1/users/{people['resident_2'].id}", headers=headers["community_staff_1"])
        assert resp.status_code == 404

    async def test_phone_is_masked_and_reveal_is_logged(self, client, world):
        _, people, headers = world
        resident = people["resident_A"]
        shown = (await client.get(f"/api/v1/users/{resident.id}", headers=headers["grid_worker_A"])).json()
        assert shown["phone_masked"] == resident.phone[:3] + "****" + resident.phone[-4:]
        assert resident.phone not in str(shown)
        clear = await client.get(f"/api/v1/users/{resident.id}/sensitive", headers=headers["grid_worker_A"])
        assert clear.json()["phone"] == resident.phone
        log = await AuditLog.get(action="reveal:phone")
        assert log.actor_id == people["grid_worker_A"].id and log.object_id == str(resident.id)


class TestGrants:
    async def test_community_staff_register_an_elderly_resident_without_a_phone_app(self, client, world):
        tree, people, headers = world
        resp = await client.post("/api/v1/users", headers=headers["community_staff_1"], json={
            "name": "李奶奶", "phone": "13600001234", "household_id": tree.household(0, 1).id,
            "grants": [{"role": "resident", "org_unit_id": tree.community(0).id}],
        })
        assert resp.status_code == 201, resp.text
        assert resp.json()["household"]["label"] == "1号楼 1单元101"
        assert await AuditLog.filter(action="user:create", actor_id=people["community_staff_1"].id).exists()

    async def test_a_grant_must_fit_the_unit_level(self, client, world):
        tree, _, headers = world
        resp = await client.post("/api/v1/users", headers=headers["community_staff_1"], json={
            "name": "王五", "grants": [{"role": "grid_worker", "org_unit_id": tree.community(0).id}]})
        assert resp.status_code == 400 and resp.json()["error"] == "WrongGrantLevel"
        assert not await User.exists(name="王五")

    @pytest.mark.parametrize(("who", "role", "where", "status"), [
        ("community_staff_1", "grid_worker", "grid_A", 201),
        ("community_staff_1", "grid_worker", "grid_in_community_2", 403),
        ("community_staff_1", "street_staff", "street", 403),
        ("grid_leader_A", "grid_worker", "grid_A", 201),
        ("grid_leader_A", "grid_leader", "grid_A", 201),
        ("grid_leader_A", "community_staff", "community_1", 403),
        ("grid_worker_A", "resident", "community_1", 403),
        ("street_staff", "community_staff", "community_2", 201),
        ("street_staff", "admin", None, 403),
        ("admin", "admin", None, 201),
    ])
    async def test_who_may_grant_what(self, client, world, who, role, where, status):
        tree, _, headers = world
        unit = {"grid_A": tree.grid(0, 0), "grid_in_community_2": tree.grid(1, 0), "street": tree.street,
                "community_1": tree.community(0), "community_2": tree.community(1), None: None}[where]
        resp = await client.post("/api/v1/users", headers=headers[who], json={
            "name": "新人", "grants": [{"role": role, "org_unit_id": unit.id if unit else None}]})
        assert resp.status_code == status, resp.text
        assert await User.exists(name="新人") == (status == 201)

    async def test_department_staff_are_granted_by_street_staff(self, client, world):
        tree, _, headers = world
        department = await make_department(tree.street)
        body = {"name": "城管小王", "grants": [{"role": "department_staff", "department_id": department.id}]}
        assert (await client.post("/api/v1/users", headers=headers["community_staff_1"], json=body)).status_code == 403
        resp = await client.post("/api/v1/users", headers=headers["street_staff"], json=body)
        assert resp.status_code == 201 and resp.json()["roles"][0]["department_name"] == "城管执法队"

    async def test_add_and_remove_a_grant(self, client, world):
        tree, people, headers = world
        target = people["resident_B"]
        added = await client.post(f"/api/v1/users/{target.id}/grants", headers=headers["community_staff_1"],
                                  json={"role": "volunteer", "org_unit_id": tree.community(0).id})
        assert added.status_code == 201 and added.json()["role_label"] == "志愿者"
        twice = await client.post(f"/api/v1/users/{target.id}/grants", headers=headers["community_staff_1"],
                                  json={"role": "volunteer", "org_unit_id": tree.community(0).id})
        assert twice.status_code == 409
        removed = await client.delete(f"/api/v1/users/{target.id}/grants/{added.json()['id']}",
                                      headers=headers["community_staff_1"])
        assert removed.status_code == 204
        assert not await RoleGrant.exists(user_id=target.id, role=Role.VOLUNTEER)

    async def test_the_database_keeps_one_grant_per_role_and_place(self, client, world):
        """Unit or department is always NULL on one side, and NULLs never clash in a plain unique key: the key is
        over COALESCEd columns (migration core/0002), so a repeat is refused, or skipped by ignore_conflicts."""
        from tortoise.exceptions import IntegrityError

        tree, people, _ = world
        target, community = people["resident_B"], tree.community(0)
        department = await make_department(tree.street)
        for place in ({"org_unit_id": community.id}, {"department_id": department.id}, {}):
            role = Role.DEPARTMENT_STAFF if "department_id" in place else Role.ADMIN if not place else Role.VOLUNTEER
            await RoleGrant.create(user_id=target.id, role=role, **place)
            with pytest.raises(IntegrityError):
                await RoleGrant.create(user_id=target.id, role=role, **place)
            await RoleGrant.bulk_create([RoleGrant(user_id=target.id, role=role, **place)], ignore_conflicts=True)
            assert await RoleGrant.filter(user_id=target.id, role=role).count() == 1, place

    async def test_a_taken_phone_is_a_409(self, client, world):
        _, people, headers = world
        resp = await client.post("/api/v1/users", headers=headers["community_staff_1"],
                                 json={"name": "重复", "phone": people["resident_A"].phone})
        assert resp.status_code == 409 and resp.json()["error"] == "PhoneTaken"

    @pytest.mark.parametrize("grant", [
        {"role": "admin", "org_unit_id": 1},
        {"role": "department_staff"},
        {"role": "resident"},
        {"role": "resident", "org_unit_id": 1, "department_id": 1},
        {"role": "emperor", "org_unit_id": 1},
    ])
    async def test_malformed_grants_are_422(self, client, world, grant):
        _, _, headers = world
        resp = await client.post("/api/v1/users", headers=headers["admin"], json={"name": "X", "grants": [grant]})
        assert resp.status_code == 422

    async def test_deactivating_a_user_ends_their_access(self, client, world, settings):
        _, people, headers = world
        target_headers = await auth_headers(settings, people["resident_B"])
        resp = await client.patch(f"/api/v1/users/{people['resident_B'].id}", headers=headers["community_staff_1"],
                                  json={"is_active": False})
        assert resp.status_code == 200 and resp.json()["is_active"] is False
        assert (await client.get("/api/v1/me", headers=target_headers)).status_code == 403
