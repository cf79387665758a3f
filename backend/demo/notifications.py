"""Demo inbox items: a welcome notice from each community to its residents and staff, and an urgent water-cut
notice that, with WeChat unconfigured in the demo, shows staff the "unreachable" list. Idempotent (dedupe keys)."""

from __future__ import annotations

from typing import Any

from backend.models.notifications import Urgency
from backend.models.org import OrgLevel, OrgUnit
from backend.notifications import recipients
from backend.notifications.enums import ANNOUNCEMENT
from backend.notifications.service import notify
from backend.org.scope import unit_scope


async def seed_domain(street: OrgUnit, progress: Any = None) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    communities = await unit_scope(street).filter(OrgUnit.filter(level=OrgLevel.COMMUNITY)).order_by("id")
    sent = 0
    for community in communities:
        staff = await recipients.community_staff(community)
        residents = await recipients.residents(community)
        actor = staff[0] if staff else None
        welcome = await notify(
            sorted(set(residents) | set(staff)), ANNOUNCEMENT,
            {"title": f"欢迎使用{community.name}“近邻”", "body": "有事随手拍、随时说，网格员第一时间响应。",
             "link": "pages/notifications/index", "unit_id": community.id, "unit_name": community.name},
            dedupe_key=f"demo:welcome:{community.id}", actor_id=actor,
        )
        water = await notify(
            residents[:15], ANNOUNCEMENT,
            {"title": "明天9:00-12:00停水检修", "body": "请提前储水。独居老人如需帮助请联系网格员。",
             "link": "pages/notifications/index", "unit_id": community.id, "unit_name": community.name},
            urgency=Urgency.URGENT, dedupe_key=f"demo:water:{community.id}", actor_id=actor,
        )
        sent += len(welcome.items) if welcome else 0
        sent += len(water.items) if water else 0
    if sent:
        say(f"  通知：{sent} 条演示通知已送达收件箱")
