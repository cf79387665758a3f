"""Role × scope matrix on the org routes: what each role sees, and 404 (not 403) for what lies outside."""

from __future__ import annotations

import pytest

from backend.models.user import Role
from tests.builders import auth_headers, make_department, make_org_tree, make_user


@pytest.fixture
async def world(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2)
    people = {
        "grid_worker_A": await make_user(Role.GRID_WORKER, tree.grid(0, 0)),
        "grid_leader_A": await make_user(Role.GRID_LEADER, tree.grid(0, 0)),
        "building_head": await make_user(Role.BUILDING_HEAD, tree.building(0, 0)),
        "community_staff_1": await make_user(Role.COMMUNITY_STAFF, tree.community(0)),
        "street_staff": await make_user(Role.STREET_STAFF, tree.street),
        "admin": await make_user(Role.ADMIN),
        "resident": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 0)),
        "department": await make_user(Role.DEPARTMENT_STAFF, department=await make_department(tree.street)),
        "nobody": await make_user(),
    }
    headers = {name: await auth_headers(settings, user) for name, user in people.items()}
    return tree, headers


# (who, which object, expected status) for GET of a single unit.
UNIT_MATRIX = [
    ("grid_worker_A", "grid_A", 200), ("grid_worker_A", "grid_B", 404), ("grid_worker_A", "community_2", 404),
    ("grid_worker_A", "building_A", 200), ("grid_worker_A", "street", 404),
    ("building_head", "building_A", 200), ("building_head", "grid_A", 404),
    ("community_staff_1", "grid_B", 200), ("community_staff_1", "grid_in_community_2", 404),
    ("street_staff", "grid_in_community_2", 200), ("street_staff", "street", 200),
    ("admin", "grid_in_community_2", 200),
    ("resident", "community_1", 200), ("resident", "community_2", 404),
    ("department", "grid_A", 404), ("nobody", "grid_A", 404),
]


def _target(tree, name: str) -> int:  # type: ignore[no-untyped-def]
    return {
        "grid_A": tree.grid(0, 0).id, "grid_B": tree.grid(0, 1).id, "grid_in_community_2": tree.grid(1, 0).id,
        "community_1": tree.community(0).id, "community_2": tree.community(1).id,
        "building_A": tree.building(0, 0).id, "street": tree.street.id,
    }[name]


class TestUnitScope:
    @pytest.mark.parametrize(("who", "what", "status"), UNIT_MATRIX)
    async def test_get_unit(self, client, world, who, what, status):
        tree, headers = world
        resp = await client.get(f"/api/v1/org/units/{_target(tree, what)}", headers=headers[who])
        assert resp.status_code == status, resp.text
        if status == 404:
            assert resp.json()["error"] == "NotFound"

    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("grid_worker_A", {"社区1第1网格", "社区1网格1小区", "1号楼"}),
            ("building_head", {"1号楼"}),
            ("nobody", set()),
            ("department", set()),
        ],
    )
    async def test_list_units_shows_only_the_subtree(self, client, world, who, expected):
        _, headers = world
        resp = await client.get("/api/v1/org/units?limit=100", headers=headers[who])
        assert resp.status_code == 200
        assert {u["name"] for u in resp.json()["items"]} == expected

    async def test_community_staff_list_excludes_other_communities(self, client, world):
        _, headers = world
        names = {u["name"] for u in (await client.get("/api/v1/org/units?limit=100", headers=headers["community_staff_1"])).json()["items"]}
        assert "社区1" in names and "社区1第2网格" in names
        assert not any(n.startswith("社区2") for n in names) and "测试街道" not in names

    async def test_the_breadcrumb_names_every_ancestor(self, client, world):
        tree, headers = world
        resp = await client.get(f"/api/v1/org/units/{tree.building(0, 1).id}", headers=headers["street_staff"])
        assert resp.json()["path"] == "测试街道 / 社区1 / 社区1第2网格 / 社区1网格2小区 / 1号楼"


HOUSEHOLD_MATRIX = [
    ("grid_worker_A", (0, 0), 200), ("grid_worker_A", (0, 1), 404), ("grid_worker_A", (1, 0), 404),
    ("grid_leader_A", (0, 0), 200), ("building_head", (0, 0), 200), ("building_head", (0, 1), 404),
    ("community_staff_1", (0, 1), 200), ("community_staff_1", (1, 0), 404),
    ("street_staff", (1, 1), 200), ("admin", (1, 1), 200),
    ("resident", (0, 0), 200), ("resident", (0, 1), 404),  # their own home, masked; nobody else's
    ("department", (0, 0), 404), ("nobody", (0, 0), 404),
]


class TestHouseholdScope:
    @pytest.mark.parametrize(("who", "where", "status"), HOUSEHOLD_MATRIX)
    async def test_get_household(self, client, world, who, where, status):
        tree, headers = world
        household = tree.household(*where)
        resp = await client.get(f"/api/v1/org/households/{household.id}", headers=headers[who])
        assert resp.status_code == status

    async def test_a_grid_worker_cannot_edit_another_grids_household(self, client, world):
        tree, headers = world
        other = tree.household(0, 1)
        resp = await client.patch(f"/api/v1/org/households/{other.id}", json={"members_count": 9},
                                  headers=headers["grid_worker_A"])
        assert resp.status_code == 404
        await other.refresh_from_db()
        assert other.members_count != 9

    async def test_list_households_is_scoped(self, client, world):
        tree, headers = world
        ids = {h["id"] for h in (await client.get("/api/v1/org/households?limit=100", headers=headers["grid_worker_A"])).json()["items"]}
        assert ids == {h.id for h in tree.communities[0].households[tree.grid(0, 0).id]}


class TestWriteScope:
    async def test_community_staff_create_grids_in_their_community_only(self, client, world):
        tree, headers = world
        ok = await client.post("/api/v1/org/units", json={"level": "grid", "name": "新网格", "parent_id": tree.community(0).id},
                               headers=headers["community_staff_1"])
        assert ok.status_code == 201 and ok.json()["path"] == "测试街道 / 社区1 / 新网格"
        other = await client.post("/api/v1/org/units", json={"level": "grid", "name": "越界", "parent_id": tree.community(1).id},
                                  headers=headers["community_staff_1"])
        assert other.status_code == 404

    async def test_grid_workers_cannot_edit_the_tree(self, client, world):
        tree, headers = world
        resp = await client.patch(f"/api/v1/org/units/{tree.grid(0, 0).id}", json={"name": "改名"}, headers=headers["grid_worker_A"])
        assert resp.status_code == 404

    async def test_only_admins_create_streets(self, client, world):
        _, headers = world
        body = {"level": "street", "name": "新街道"}
        assert (await client.post("/api/v1/org/units", json=body, headers=headers["street_staff"])).status_code == 403
        assert (await client.post("/api/v1/org/units", json=body, headers=headers["admin"])).status_code == 201

    async def test_departments_are_visible_street_wide_and_created_by_street_staff(self, client, world):
        tree, headers = world
        listed = await client.get("/api/v1/org/departments", headers=headers["community_staff_1"])
        assert [d["name"] for d in listed.json()] == ["城管执法队"]
        assert (await client.get("/api/v1/org/departments", headers=headers["nobody"])).json() == []
        body = {"name": "供热公司", "street_id": tree.street.id}
        assert (await client.post("/api/v1/org/departments", json=body, headers=headers["community_staff_1"])).status_code == 403
        assert (await client.post("/api/v1/org/departments", json=body, headers=headers["street_staff"])).status_code == 201
