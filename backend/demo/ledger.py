"""Demo data for the time bank and love points: each demo community gets rules with monthly allowances and an
爱心超市 account; its volunteers get service and activity hours, eligible households this month's allowance,
and a few residents have redeemed points. Idempotent: every posting has a fixed key, rules are only written
where a community has none, and store accounts are opened once."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from tortoise.expressions import Subquery

from backend.ledger import jobs
from backend.ledger import service as ledger
from backend.ledger.exceptions import InsufficientBalance, StoreNotFound
from backend.ledger.repository import home_community_id
from backend.ledger.rules import DEFAULTS, save
from backend.models.ledger import Rules
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import unit_scope
from backend.store.repository import scoped_stores

ALLOWANCES = {"is_elderly": 20, "is_living_alone": 20, "is_disabled": 30, "is_low_income": 30, "is_hardship": 20}


async def seed_domain(street: OrgUnit, progress: Any = None) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    rng = random.Random(2027)
    communities = await unit_scope(street).filter(OrgUnit.filter(level=OrgLevel.COMMUNITY)).order_by("id")
    for community in communities:
        if not await Rules.exists(unit_id=community.id):
            await save(community.id, replace(DEFAULTS, allowance_points=ALLOWANCES, allowance_max_points=60),
                       actor_id=None)
        if not await scoped_stores(unit_scope(community)).exists():  # else the store seeder opened it
            await ledger.open_store_account(community.id, community=community, name=f"{community.name}爱心超市",
                                            actor_id=None)
        volunteers = await User.filter(
            id__in=Subquery(RoleGrant.filter(role=Role.VOLUNTEER, org_unit_id=community.id).values("user_id"))
        ).order_by("id")
        for v in volunteers:
            for n in range(rng.randint(2, 6)):
                if n % 2:
                    await ledger.earn_activity(v.id, community=community, minutes=rng.choice((60, 90, 120, 180)),
                                               reason="参加社区志愿活动", idempotency_key=f"demo:activity:{v.id}:{n}")
                else:
                    await ledger.earn_service(v.id, community=community, minutes=rng.choice((30, 45, 60, 90)),
                                              reason="为独居老人送菜上门", idempotency_key=f"demo:service:{v.id}:{n}")
        say(f"  {community.name}：{len(volunteers)} 名志愿者已记入服务时长")
    report = await jobs.pay_monthly_allowances()
    say(f"  关爱积分：本月已发放 {report.paid + report.already_paid} 户")
    residents = await User.filter(
        id__in=Subquery(RoleGrant.filter(role=Role.RESIDENT).values("user_id")), household_id__not_isnull=True
    ).order_by("id").limit(40)
    for r in residents[::3]:  # at the community's 爱心超市, or the account opened above under its id
        community_id = await home_community_id(r.id)
        home = next((c for c in communities if c.id == community_id), None)
        store = await scoped_stores(unit_scope(home)).order_by("id").first() if home is not None else None
        store_id = store.id if store is not None else community_id
        try:
            await ledger.redeem(r.id, store_id=store_id or 0, points=10, actor_id=r.id,
                                idempotency_key=f"demo:redeem:{r.id}", note="爱心超市兑换：挂面一袋")
        except (InsufficientBalance, StoreNotFound):
            continue
