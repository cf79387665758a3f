"""A resident reads their own household (its building, position and the units above it), masked; never anyone
else's."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.user import Role
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def home(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1, households=2)
    building = tree.building()
    building.lat, building.lng = 36.0611, 103.8343
    await building.save(update_fields=["lat", "lng"])
    community = tree.community()
    resident = await make_user(Role.RESIDENT, community, household=tree.household(0, 0, 0), name="居民甲")
    neighbour = await make_user(Role.RESIDENT, community, household=tree.household(0, 0, 1), name="居民乙")
    homeless = await make_user(Role.RESIDENT, tree.community(), name="未登记")
    headers = {u.name: await auth_headers(settings, u) for u in (resident, neighbour, homeless)}
    return tree, headers


class TestMyHousehold:
    async def test_me_carries_the_building_position_and_the_units_above(self, client, home):
        tree, headers = home
        me = (await client.get("/api/v1/me", headers=headers["居民甲"])).json()
        household = me["household"]
        assert household["id"] == tree.household(0, 0, 0).id and household["label"] == "1号楼 1单元101"
        building = {"id": tree.building().id, "name": "1号楼", "lat": 36.0611, "lng": 103.8343}
        assert household["building"] == building
        assert household["grid"] == {"id": tree.grid().id, "name": "社区1第1网格"}
        assert household["community"] == {"id": tree.community().id, "name": "社区1"}
        assert household["compound"]["name"] == "社区1网格1小区"
        assert household["street"]["name"] == "测试街道"

    async def test_the_household_route_is_masked(self, client, home):
        tree, headers = home
        own = tree.household(0, 0, 0)
        resp = await client.get("/api/v1/me/household", headers=headers["居民甲"])
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["contact_phone"] == own.contact_phone[:3] + "****" + own.contact_phone[-4:]
        assert body["address"].endswith("****") and body["address"] != own.address
        assert "flags" not in body and "is_elderly" not in body
        assert body["building"]["lat"] == 36.0611

    async def test_no_household_is_a_404_in_the_one_shape(self, client, home):
        _, headers = home
        resp = await client.get("/api/v1/me/household", headers=headers["未登记"])
        assert resp.status_code == 404 and resp.json()["error"] == "NotFound"
        assert "住户" in resp.json()["message"]
        assert (await client.get("/api/v1/me", headers=headers["未登记"])).json()["household"] is None


class TestOrgHouseholdRoute:
    async def test_a_resident_reads_their_own_household_masked(self, client, home):
        tree, headers = home
        own = tree.household(0, 0, 0)
        resp = await client.get(f"/api/v1/org/households/{own.id}", headers=headers["居民甲"])
        assert resp.status_code == 200, resp.text
        assert resp.json()["masked"] is True and resp.json()["flags"] is None

    async def test_but_not_a_neighbours(self, client, home):
        tree, headers = home
        other = tree.household(0, 0, 1)
        resp = await client.get(f"/api/v1/org/households/{other.id}", headers=headers["居民甲"])
        assert resp.status_code == 404

    async def test_nor_may_they_reveal_their_own(self, client, home):
        tree, headers = home
        own = tree.household(0, 0, 0)
        resp = await client.get(f"/api/v1/org/households/{own.id}?reveal=true", headers=headers["居民甲"])
        assert resp.status_code == 403 and resp.json()["error"] == "Forbidden"
        assert not await AuditLog.filter(action__startswith="reveal").exists()

    async def test_nor_edit_it(self, client, home):
        tree, headers = home
        own = tree.household(0, 0, 0)
        resp = await client.patch(f"/api/v1/org/households/{own.id}", headers=headers["居民甲"],
                                  json={"members_count": 9})
        assert resp.status_code == 404
