"""Households: sensitive fields are masked by default; revealing them is allowed to some roles and logged."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.org import Household
from backend.models.user import Role
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def grid(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1, households=1)
    worker = await make_user(Role.GRID_WORKER, tree.grid())
    head = await make_user(Role.BUILDING_HEAD, tree.building())
    return tree, worker, await auth_headers(settings, worker), await auth_headers(settings, head)


class TestMasking:
    async def test_lists_and_details_are_masked(self, client, grid):
        tree, _, headers, _ = grid
        household = tree.household()
        listed = (await client.get("/api/v1/org/households", headers=headers)).json()["items"][0]
        detail = (await client.get(f"/api/v1/org/households/{household.id}", headers=headers)).json()
        for body in (listed, detail):
            assert body["masked"] is True and body["flags"] is None
            assert body["contact_phone"] == household.contact_phone[:3] + "****" + household.contact_phone[-4:]
            assert body["address"].endswith("****") and body["address"] != household.address
        assert not await AuditLog.filter(action__startswith="reveal").exists()

    async def test_reveal_shows_clear_values_and_is_logged(self, client, grid):
        tree, worker, headers, _ = grid
        household = tree.household()
        resp = await client.get(f"/api/v1/org/households/{household.id}?reveal=true", headers=headers)
        body = resp.json()
        assert body["masked"] is False
        assert body["contact_phone"] == household.contact_phone and body["address"] == household.address
        assert body["flags"]["is_elderly"] is True
        log = await AuditLog.get(action="reveal:address,contact_phone,flags")
        assert (log.actor_id, log.object_type, log.object_id) == (worker.id, "household", str(household.id))

    async def test_a_building_head_sees_the_household_but_may_not_reveal(self, client, grid):
        tree, _, _, head_headers = grid
        household = tree.household()
        assert (await client.get(f"/api/v1/org/households/{household.id}", headers=head_headers)).status_code == 200
        resp = await client.get(f"/api/v1/org/households/{household.id}?reveal=true", headers=head_headers)
        assert resp.status_code == 403
        assert not await AuditLog.filter(action__startswith="reveal").exists()


class TestEditing:
    async def test_a_grid_worker_registers_and_updates_a_household(self, client, grid):
        tree, _, headers, _ = grid
        resp = await client.post("/api/v1/org/households", headers=headers, json={
            "building_id": tree.building().id, "door_no": "2单元502", "contact_phone": "13612345678",
            "members_count": 2, "flags": {"is_living_alone": True, "is_elderly": True},
        })
        assert resp.status_code == 201, resp.text
        created = await Household.get(id=resp.json()["id"])
        assert created.grid_id == tree.grid().id and created.is_living_alone
        resp = await client.patch(f"/api/v1/org/households/{created.id}", headers=headers,
                                  json={"flags": {"is_hardship": True}})
        await created.refresh_from_db()
        assert resp.status_code == 200 and created.is_hardship

    async def test_same_door_twice_is_a_409(self, client, grid):
        tree, _, headers, _ = grid
        body = {"building_id": tree.building().id, "door_no": tree.household().door_no}
        resp = await client.post("/api/v1/org/households", headers=headers, json=body)
        assert resp.status_code == 409 and resp.json()["error"] == "DoorTaken"

    async def test_households_hang_under_buildings_only(self, client, grid):
        tree, _, headers, _ = grid
        resp = await client.post("/api/v1/org/households", headers=headers,
                                 json={"building_id": tree.grid().id, "door_no": "1"})
        assert resp.status_code == 400 and resp.json()["error"] == "NotABuilding"

    async def test_a_bad_phone_is_refused(self, client, grid):
        tree, _, headers, _ = grid
        resp = await client.post("/api/v1/org/households", headers=headers,
                                 json={"building_id": tree.building().id, "door_no": "9", "contact_phone": "110"})
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == "body.contact_phone"
