"""Recipients by rule: grid teams, community staff, residents of a unit, department staff on duty, and
available volunteers near a point (set through the presence API)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.timeutil import utcnow
from backend.models.notifications import Presence
from backend.models.user import Role
from backend.notifications import recipients
from tests.builders import auth_headers, make_department, make_org_tree, make_user

# 土门墩, roughly; 0.001° of latitude is ~111 m.
LAT, LNG = 36.0712, 103.7405


@pytest.fixture
async def world(settings):  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=2, grids=2)
    p = {
        "worker_A": await make_user(Role.GRID_WORKER, tree.grid(0, 0)),
        "leader_A": await make_user(Role.GRID_LEADER, tree.grid(0, 0)),
        "head_A": await make_user(Role.BUILDING_HEAD, tree.building(0, 0)),
        "worker_B": await make_user(Role.GRID_WORKER, tree.grid(0, 1)),
        "staff_1": await make_user(Role.COMMUNITY_STAFF, tree.community(0)),
        "staff_2": await make_user(Role.COMMUNITY_STAFF, tree.community(1)),
        "street": await make_user(Role.STREET_STAFF, tree.street),
        "resident_A": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 0, 0)),
        "resident_B": await make_user(Role.RESIDENT, tree.community(0), household=tree.household(0, 1, 0)),
    }
    return tree, {k: v.id for k, v in p.items()}


class TestOrgRules:
    async def test_grid_team_is_the_workers_and_leader_of_that_grid_only(self, world):
        tree, p = world
        assert await recipients.grid_team(tree.grid(0, 0)) == sorted([p["worker_A"], p["leader_A"]])
        assert await recipients.grid_team(tree.grid(0, 1)) == [p["worker_B"]]

    async def test_community_and_street_staff(self, world):
        tree, p = world
        assert await recipients.community_staff(tree.community(0)) == [p["staff_1"]]
        assert await recipients.community_staff(tree.community(1)) == [p["staff_2"]]
        assert await recipients.street_staff(tree.street) == [p["street"]]

    async def test_holders_in_sql_agree_with_the_scope_filter(self, world):
        """``holders`` is hand-written SQL over ``Scope.where``; the ORM filter through ``Scope.filter`` is the
        reference, for scopes at every level, several units, everything and nothing."""
        from backend.models.user import RoleGrant
        from backend.org.scope import Scope, unit_scope

        tree, _ = world
        await make_user(Role.GRID_WORKER, tree.grid(1, 1))
        await make_user(Role.ADMIN)  # a grant without a unit is in no unit's team
        scopes = [unit_scope(u) for u in (tree.street, tree.community(0), tree.community(1), tree.grid(0, 0),
                                          tree.building(0, 0))]
        scopes += [scopes[1].union(scopes[4]), scopes[2].union(scopes[3]), Scope(everything=True), Scope()]
        role_sets = [(Role.GRID_WORKER,), (Role.GRID_WORKER, Role.GRID_LEADER), tuple(Role), ()]
        for scope in scopes:
            for roles in role_sets:
                grants = scope.filter(RoleGrant.filter(role__in=list(roles), org_unit_id__isnull=False),
                                      prefix="org_unit__")
                expected = sorted(set(await grants.values_list("user_id", flat=True)))
                assert await recipients.holders(scope, roles) == expected, (scope, roles)
        assert await recipients.holders(Scope(everything=True), tuple(Role))  # not vacuous

    async def test_residents_of_a_unit(self, world):
        tree, p = world
        assert await recipients.residents(tree.grid(0, 0)) == [p["resident_A"]]
        assert await recipients.residents(tree.community(0)) == sorted([p["resident_A"], p["resident_B"]])
        assert await recipients.residents(tree.community(1)) == []

    async def test_department_staff_on_duty_or_all_when_nobody_is(self, world):
        tree, _ = world
        department = await make_department(tree.street)
        other = await make_department(tree.street, "房产服务中心")
        a = await make_user(Role.DEPARTMENT_STAFF, department=department)
        b = await make_user(Role.DEPARTMENT_STAFF, department=department)
        await make_user(Role.DEPARTMENT_STAFF, department=other)
        assert await recipients.department_staff(department) == sorted([a.id, b.id])  # nobody on duty: all
        await Presence.create(user=b, available=True)
        assert await recipients.department_staff(department) == [b.id]
        assert await recipients.department_staff(department.id, on_duty=False) == sorted([a.id, b.id])
        await Presence.filter(user=b).update(updated_at=utcnow() - timedelta(hours=13))  # yesterday's shift
        assert await recipients.department_staff(department) == sorted([a.id, b.id])


class TestVolunteersNearby:
    async def _volunteer(self, client, settings, unit, lat, lng, available=True):  # type: ignore[no-untyped-def]
        user = await make_user(Role.VOLUNTEER, unit)
        resp = await client.put("/api/v1/notifications/presence", json={"available": available, "lat": lat, "lng": lng},
                                headers=await auth_headers(settings, user))
        assert resp.status_code == 200, resp.text
        return user.id

    async def test_available_volunteers_within_the_radius_nearest_first(self, client, settings, world):
        tree, _ = world
        near = await self._volunteer(client, settings, tree.community(0), LAT + 0.001, LNG)  # ~111 m
        nearer = await self._volunteer(client, settings, tree.community(0), LAT + 0.0003, LNG)  # ~33 m
        far = await self._volunteer(client, settings, tree.community(0), LAT + 0.01, LNG)  # ~1.1 km
        busy = await self._volunteer(client, settings, tree.community(0), LAT, LNG, available=False)
        other_community = await self._volunteer(client, settings, tree.community(1), LAT, LNG + 0.0005)
        found = await recipients.volunteers_near(LAT, LNG, 500)
        assert [n.user_id for n in found] == [nearer, other_community, near]
        assert 100 < found[-1].distance_m < 125
        assert far not in [n.user_id for n in found] and busy not in [n.user_id for n in found]
        inside = await recipients.volunteers_near(LAT, LNG, 500, within=tree.community(0))
        assert [n.user_id for n in inside] == [nearer, near]

    async def test_a_stale_position_does_not_count_and_going_off_duty_forgets_it(self, client, settings, world):
        tree, _ = world
        uid = await self._volunteer(client, settings, tree.community(0), LAT, LNG)
        await Presence.filter(user_id=uid).update(updated_at=utcnow() - timedelta(hours=3))
        assert await recipients.volunteers_near(LAT, LNG, 500) == []
        from backend.models.user import User

        headers = await auth_headers(settings, await User.get(id=uid))
        off = await client.put("/api/v1/notifications/presence", json={"available": False, "lat": LAT, "lng": LNG},
                               headers=headers)
        assert off.json() == {**off.json(), "available": False, "lat": None, "lng": None}
        assert (await Presence.get(user_id=uid)).lat is None

    async def test_only_volunteers_and_department_staff_set_presence(self, client, settings, world):
        tree, p = world
        from backend.models.user import User

        for who in ("resident_A", "worker_A", "staff_1"):
            headers = await auth_headers(settings, await User.get(id=p[who]))
            resp = await client.put("/api/v1/notifications/presence", json={"available": True}, headers=headers)
            assert resp.status_code == 403 and resp.json()["error"] == "PresenceNotAllowed"
        assert await Presence.all().count() == 0
        volunteer = await make_user(Role.VOLUNTEER, tree.community(0))
        headers = await auth_headers(settings, volunteer)
        for bad in [{"available": True, "lat": 91, "lng": 0}, {"available": True, "lat": 36.0},
                    {"available": "sometimes"}, {"on": True}]:
            resp = await client.put("/api/v1/notifications/presence", json=bad, headers=headers)
            assert resp.status_code == 422, (bad, resp.text)
