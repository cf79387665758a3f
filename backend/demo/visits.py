"""Demo data for 入户走访 / 党员联户: every demo party member holds ten households of their grid, each grid worker
the grid's elderly-alone and 困难 households nobody holds yet; about two thirds of them were visited this month
(a few nobody-home attempts, a few problems found, one check-in from the wrong street), and a few households
have a resident ledger. So the plan, the visit list and the 台账 are not empty.

Idempotent: nothing is written when the street already has assignments. Visits get fixed client ids (uuid5), so
even a half-finished earlier run could not duplicate one.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from backend.auth.principal import Principal
from backend.auth.repository import grants_of_user
from backend.config import get_settings
from backend.core.timeutil import utcnow
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.models.visits import Assignment, VisitSource
from backend.org.scope import unit_scope
from backend.visits import months, residents, service, sync
from backend.visits.ledger_schemas import ProfileIn
from backend.visits.schemas import AssignIn, VisitIn

NAMESPACE = uuid.UUID("5f0c1d2e-7a4b-4c3d-9e8f-0a1b2c3d4e5f")
NOTES = ["老人身体还好，叮嘱按时吃药", "家中无人，门口留了联系卡", "反映楼道灯不亮", "子女常回来看望", "询问高龄补贴办理",
         "与邻居因漏水有矛盾，已初步调解", "家中电线老化，提醒更换", "一切正常"]
TAGS = [[], [], [], [], [], [], [], [], [], ["care"], ["policy"], ["dispute"], ["safety"], ["housing"]]


async def _principal(user_id: int) -> Principal:
    user = await User.get(id=user_id)
    return Principal(user=user, session_id=None, grants=await grants_of_user(user.id))


async def _holders(role: Role, unit: OrgUnit) -> list[int]:
    grants = unit_scope(unit).filter(RoleGrant.filter(role=role, org_unit_id__isnull=False), prefix="org_unit__")
    return sorted(set(await grants.values_list("user_id", flat=True)))


async def seed_domain(street: OrgUnit, progress: Any = None) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    if await unit_scope(street).filter(Assignment.all()).exists():
        return
    rng = random.Random(2028)
    settings = get_settings()
    now = utcnow()
    month_start, _ = months.bounds(months.current_month(now))
    span = max((now - month_start).total_seconds(), 3600.0)
    communities = await unit_scope(street).filter(OrgUnit.filter(level=OrgLevel.COMMUNITY)).order_by("id")
    assigned = visited = 0
    for community in communities:
        staff_ids = await _holders(Role.COMMUNITY_STAFF, community)
        if not staff_ids:
            continue
        staff = await _principal(staff_ids[0])
        for grid in await unit_scope(community).filter(OrgUnit.filter(level=OrgLevel.GRID)).order_by("id"):
            households = await unit_scope(grid).filter(Household.all()).order_by("id")
            free = list(households)
            plan: list[tuple[int, list[Household]]] = []
            for member in await _holders(Role.PARTY_MEMBER, grid):
                plan.append((member, free[:10]))
                free = free[10:]
            special = [h for h in free if (h.is_elderly and h.is_living_alone) or h.is_hardship]
            for worker in (await _holders(Role.GRID_WORKER, grid))[:1]:
                plan.append((worker, special))
            for visitor_id, mine in plan:
                if not mine:
                    continue
                await service.assign(staff, AssignIn(visitor_id=visitor_id, household_ids=[h.id for h in mine],
                                                     reason="党员联户（演示数据）"))
                assigned += len(mine)
                visitor = await _principal(visitor_id)
                for h in mine:
                    if rng.random() > 0.65:
                        continue
                    visited += await _visit(visitor, h, rng, settings, month_start + timedelta(
                        seconds=rng.uniform(0, span)), now)
            if households:
                await residents.update_profile(settings, staff, households[0], ProfileIn(
                    version=0, people_living=households[0].members_count, contact_name="王建国",
                    special_situation="子女在外地工作，每月回来一次"))
        say(f"  {community.name}：党员联户已分配")
    say(f"  入户走访：{assigned} 户已分配联系人，本月走访 {visited} 次")


async def _visit(visitor: Principal, h: Household, rng: random.Random, settings: Any, at: Any, now: Any) -> int:
    building = await OrgUnit.get(id=h.building_id)
    far = rng.random() < 0.03
    lat = None if building.lat is None else building.lat + (0.01 if far else rng.uniform(-0.0003, 0.0003))
    lng = None if building.lng is None else building.lng + rng.uniform(-0.0003, 0.0003)
    home = rng.random() > 0.12
    item = VisitIn(client_id=uuid.uuid5(NAMESPACE, f"demo-visit:{h.id}"), household_id=h.id, visited_at=at,
                   lat=lat, lng=lng, accuracy_m=round(rng.uniform(5, 40)), at_home=home,
                   notes=rng.choice(NOTES) if home else "家中无人", tags=rng.choice(TAGS) if home else [])
    outcome = await sync.check_in(visitor, item, sync.Received(at=min(at + timedelta(minutes=2), now), sent_at=None,
                                                               source=VisitSource.ONLINE), settings)
    return outcome.outcome == "created"
