"""Creating, editing and deleting units of the tree."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.org import OrgUnit
from backend.models.user import Role
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def staff(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1)
    return tree, await auth_headers(settings, await make_user(Role.STREET_STAFF, tree.street))


class TestCreateUnit:
    async def test_a_new_unit_carries_its_ancestors(self, client, staff):
        tree, headers = staff
        resp = await client.post("/api/v1/org/units", headers=headers, json={
            "level": "building", "name": "9号楼", "parent_id": tree.grid(0, 0).id, "lat": 36.07, "lng": 103.74,
        })
        assert resp.status_code == 201, resp.text
        unit = await OrgUnit.get(id=resp.json()["id"])
        assert (unit.street_id, unit.community_id, unit.grid_id, unit.building_id) == (
            tree.street.id, tree.community(0).id, tree.grid(0, 0).id, unit.id)
        assert unit.compound_id is None
        assert await AuditLog.filter(action="org:create", object_id=str(unit.id)).exists()

    @pytest.mark.parametrize(
        ("level", "parent", "error"),
        [("grid", "street", "WrongParentLevel"), ("community", "grid", "WrongParentLevel"),
         ("compound", "community", "WrongParentLevel")],
    )
    async def test_levels_must_nest_properly(self, client, staff, level, parent, error):
        tree, headers = staff
        parent_id = {"street": tree.street.id, "grid": tree.grid(0, 0).id, "community": tree.community(0).id}[parent]
        resp = await client.post("/api/v1/org/units", headers=headers, json={"level": level, "name": "X", "parent_id": parent_id})
        assert resp.status_code == 400 and resp.json()["error"] == error
        assert not await OrgUnit.filter(name="X").exists()

    async def test_sibling_names_are_unique(self, client, staff):
        tree, headers = staff
        resp = await client.post("/api/v1/org/units", headers=headers, json={
            "level": "grid", "name": "社区1第1网格", "parent_id": tree.community(0).id})
        assert resp.status_code == 409 and resp.json()["error"] == "UnitNameTaken"

    @pytest.mark.parametrize("body", [
        {"level": "grid", "name": "", "parent_id": 1},
        {"level": "grid", "name": "x" * 65, "parent_id": 1},
        {"level": "planet", "name": "X", "parent_id": 1},
        {"level": "grid", "name": "X", "parent_id": 1, "lat": 91},
        {"level": "grid", "name": "X", "parent_id": 1, "boundary": [[1, 2], [3, 4]]},
        {"level": "grid", "name": "X", "parent_id": 1, "boundary": [[1, 2], [3, 4], [500, 1]]},
        {"level": "grid", "name": "X", "parent_id": 1, "unexpected": True},
        {"level": "grid", "name": "X", "parent_id": -3},
    ])
    async def test_bad_input_is_a_422_and_nothing_is_written(self, client, staff, body):
        _, headers = staff
        before = await OrgUnit.all().count()
        resp = await client.post("/api/v1/org/units", headers=headers, json=body)
        assert resp.status_code == 422
        assert set(resp.json()) == {"error", "message", "detail"}
        assert await OrgUnit.all().count() == before

    async def test_a_grid_boundary_is_kept(self, client, staff):
        tree, headers = staff
        polygon = [[103.74, 36.07], [103.75, 36.07], [103.75, 36.08]]
        resp = await client.post("/api/v1/org/units", headers=headers, json={
            "level": "grid", "name": "画了边界的网格", "parent_id": tree.community(0).id, "boundary": polygon})
        assert resp.json()["has_boundary"] is True
        assert (await OrgUnit.get(id=resp.json()["id"])).boundary == polygon


class TestEditAndDelete:
    async def test_rename_and_party_org(self, client, staff):
        tree, headers = staff
        resp = await client.patch(f"/api/v1/org/units/{tree.grid(0, 0).id}", headers=headers,
                                  json={"name": "东区网格", "party_org_name": "东区网格党支部"})
        assert resp.status_code == 200
        assert resp.json()["name"] == "东区网格" and resp.json()["party_org_name"] == "东区网格党支部"

    async def test_a_unit_with_children_cannot_be_deleted(self, client, staff):
        tree, headers = staff
        resp = await client.delete(f"/api/v1/org/units/{tree.grid(0, 0).id}", headers=headers)
        assert resp.status_code == 409 and resp.json()["error"] == "UnitNotEmpty"
        assert await OrgUnit.exists(id=tree.grid(0, 0).id)

    async def test_an_empty_unit_can_be_deleted(self, client, staff):
        tree, headers = staff
        created = await client.post("/api/v1/org/units", headers=headers, json={
            "level": "grid", "name": "空网格", "parent_id": tree.community(0).id})
        resp = await client.delete(f"/api/v1/org/units/{created.json()['id']}", headers=headers)
        assert resp.status_code == 204
        assert not await OrgUnit.exists(name="空网格")

    async def test_pagination_walks_every_unit_once(self, client, staff):
        _, headers = staff
        seen, cursor = [], None
        while True:
            resp = await client.get("/api/v1/org/units", headers=headers, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            page = resp.json()
            seen += [u["id"] for u in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(await OrgUnit.all().values_list("id", flat=True))
        assert len(seen) == len(set(seen))

    async def test_a_forged_cursor_is_a_400(self, client, staff):
        _, headers = staff
        resp = await client.get("/api/v1/org/units", headers=headers, params={"cursor": "!!!not-base64"})
        assert resp.status_code == 400 and resp.json()["error"] == "BadRequest"
