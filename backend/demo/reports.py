"""Demo reports: about five weeks of residents' reports in every community of the demo street, in every state
(new, in hand, waiting for the resident, gone up to the community, resolved and rated, reopened after a bad
rating, withdrawn), a few whistles to departments and one deliberation with a household vote per community, so
the queues, the timeline and the monthly board (last month frozen, this month live) are not empty.

Everything goes through the reports service as the people concerned, so history rows, clocks and notifications
are the real ones; afterwards each report's times are moved back by its age. Idempotent: nothing is written
when the street already has reports. Deterministic (fixed random seed).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from tortoise.expressions import Subquery

from backend.auth.principal import Principal
from backend.auth.repository import grants_of_user
from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.reports import Level, Report, ReportEvent, ReportRating
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import unit_scope
from backend.reports import access, board, deliberations, service, whistles
from backend.reports.categories import taxonomy
from backend.reports.exceptions import AlreadyVoted
from backend.reports.schemas import (
    AcceptIn,
    DeliberationIn,
    EscalateIn,
    RateIn,
    ReportIn,
    RequestInfoIn,
    ResolveIn,
    VoteIn,
    WhistleIn,
    WithdrawIn,
)

PER_COMMUNITY = 30
DAYS = 35
SAYINGS = {
    "sanitation": ["楼下垃圾桶满了两天没人清运", "小区门口有人乱倒建筑垃圾", "下水道反味，夏天蚊蝇多"],
    "facilities": [
        "路灯晚上不亮，老人走路不安全",
        "人行道地砖松动，下雨溅一身水",
        "井盖有裂缝，担心孩子踩空",
    ],
    "utilities": ["暖气不热，屋里只有十五度", "这两天水压很低，高层接不上水", "楼道总闸跳闸好几次"],
    "property": ["电梯经常停，老人上下楼困难", "楼顶漏水，顶层住户墙皮脱落", "物业不在，单元门锁坏了没人修"],
    "traffic": ["消防通道被私家车堵了", "电动车在楼道里充电，很危险", "小区出口车辆乱停，进出困难"],
    "neighbours": ["楼上晚上装修噪音很大", "邻居在公共楼道堆放杂物", "楼上漏水到我家，协商不成"],
    "safety": ["楼道里私拉电线给电动车充电", "外墙瓷砖有松动，怕砸到人", "消防栓被杂物挡住了"],
    "care": ["独居老人最近没出门，有点担心", "想申请助餐服务", "单元门口台阶太高，轮椅上不去"],
    "policy": ["想咨询高龄补贴怎么申请", "医保异地备案怎么办理", "低保复审需要什么材料"],
    "other": ["建议小区增设快递柜", "希望社区多组织老年活动", "小区广场舞音响太大"],
}
RESULTS = [
    "已联系物业当天处理完毕",
    "已协调城管清理",
    "已上门查看并修复",
    "已电话答复政策办理流程",
    "已调解，双方达成一致",
    "已安排志愿者定期上门",
]


async def _principal(user_id: int) -> Principal:
    user = await User.get(id=user_id)
    return Principal(user=user, session_id=None, grants=await grants_of_user(user.id))


async def _holders(role: Role, unit: OrgUnit) -> list[int]:
    grants = unit_scope(unit).filter(
        RoleGrant.filter(role=role, org_unit_id__isnull=False), prefix="org_unit__"
    )
    return sorted(set(await grants.values_list("user_id", flat=True)))


async def _residents(community: OrgUnit) -> list[int]:
    households = unit_scope(community).filter(Household.all()).values("id")
    return sorted(
        set(
            await User.filter(
                household_id__in=Subquery(households), is_active=True, grants__role=Role.RESIDENT
            ).values_list("id", flat=True)
        )
    )


async def _age(report_id: int, days: float) -> None:
    """Move a report's history back by ``days`` (clocks stay where they are: nothing fires at start)."""
    shift = timedelta(days=days)
    row = await Report.get(id=report_id)
    changes = {
        f: getattr(row, f) - shift
        for f in ("created_at", "updated_at", "response_due_at", "responded_at", "resolved_at", "closed_at")
        if getattr(row, f) is not None
    }
    await Report.filter(id=report_id).update(**changes)
    for event in await ReportEvent.filter(report_id=report_id):
        await ReportEvent.filter(id=event.id).update(created_at=event.created_at - shift)
    for rating in await ReportRating.filter(report_id=report_id):
        await ReportRating.filter(id=rating.id).update(created_at=rating.created_at - shift)


class _Community:
    def __init__(self, rng: random.Random, community: OrgUnit) -> None:
        self.rng, self.community = rng, community
        self.handlers: list[Principal] = []
        self.staff: Principal | None = None

    async def load(self, street_staff: Principal | None) -> bool:
        staff_ids = await _holders(Role.COMMUNITY_STAFF, self.community)
        if not staff_ids:
            return False
        self.staff = await _principal(staff_ids[0])
        grid_people = set(await _holders(Role.GRID_WORKER, self.community))
        grid_people |= set(await _holders(Role.GRID_LEADER, self.community))
        self.handlers = [await _principal(u) for u in sorted(grid_people)] + [self.staff]
        if street_staff is not None:
            self.handlers.append(street_staff)
        return True

    def handler(self, report: Report) -> Principal:
        return next(p for p in self.handlers if access.can_handle(p, report))

    async def one(self, resident: Principal, departments: list[Department]) -> Report:
        rng = self.rng
        category = rng.choice(sorted(taxonomy().by_code))
        top = taxonomy().get(category).top_code  # type: ignore[union-attr]
        report = await service.submit(
            resident,
            ReportIn(
                category=category, description=rng.choice(SAYINGS[top]), address=f"{self.community.name}附近"
            ),
        )
        fate = rng.random()
        if fate < 0.15:
            return report
        if fate < 0.22:
            return await service.withdraw(resident, report, WithdrawIn(reason="已经自己解决了"))
        if fate < 0.32 and Level(report.level).up is not None:
            report = await service.escalate(
                self.handler(report), report, EscalateIn(reason="涉及多个小区，需社区协调")
            )
            if departments and rng.random() < 0.6:
                await whistles.blow(
                    self.handler(report),
                    report,
                    WhistleIn(
                        department_ids=[rng.choice(departments).id],
                        note="请相关部门协助处理",
                        deadline_hours=72,
                    ),
                )
            return report
        report = await service.accept(self.handler(report), report, AcceptIn(note="已收到，尽快处理"))
        if fate < 0.42:
            return report
        if fate < 0.48:
            return await service.request_info(
                self.handler(report), report, RequestInfoIn(question="请补充具体位置或拍张照片")
            )
        report = await service.resolve(
            self.handler(report), report, ResolveIn(note=rng.choice(RESULTS), public_note=rng.choice(RESULTS))
        )
        if fate < 0.58:
            return report
        score = rng.choice((5, 5, 5, 4, 4, 3)) if fate < 0.92 else 2
        report, _ = await service.rate(
            resident, report, RateIn(score=score, comment="谢谢" if score > 2 else "没解决")
        )
        if score <= 2:
            report = await service.accept(self.handler(report), report, AcceptIn(note="社区接手重新办理"))
        return report

    async def deliberation(self, report: Report, voters: list[int]) -> None:
        assert self.staff is not None
        opened = await deliberations.open_(
            self.staff,
            report,
            DeliberationIn(
                kind="residents_council",
                topic="是否在小区增设电动车集中充电棚",
                participants=["居民代表", "物业经理", "网格长"],
                vote_options=["同意", "不同意"],
                vote_hours=72,
            ),
        )
        for user_id in voters[:12]:
            voter = await _principal(user_id)
            opened.report = report
            try:
                await deliberations.vote(
                    voter, opened, VoteIn(option=self.rng.choice(["同意", "同意", "不同意"]))
                )
            except AlreadyVoted:  # two residents of one household: the second vote is refused
                continue


async def seed_domain(street: OrgUnit, progress: Any = None) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    if await unit_scope(street).filter(Report.all()).exists():
        return
    rng = random.Random(2025)
    street_ids = await _holders(Role.STREET_STAFF, street)
    street_staff = await _principal(street_ids[0]) if street_ids else None
    # The street's departments (not a visibility filter: whom the demo whistles to).
    serving = Department.filter(street_id=street.id)  # scope: departments serving this street
    departments = await serving.order_by("id")
    made = 0
    communities = await unit_scope(street).filter(OrgUnit.filter(level=OrgLevel.COMMUNITY)).order_by("id")
    for community in communities:
        place = _Community(rng, community)
        residents = await _residents(community)
        if not residents or not await place.load(street_staff):
            continue
        open_ones = []
        for _ in range(PER_COMMUNITY):
            resident = await _principal(rng.choice(residents))
            report = await place.one(resident, departments)
            if report.status == "submitted" and report.level == "community":
                open_ones.append(report)
            await _age(report.id, rng.uniform(0, DAYS))
            made += 1
        if open_ones:
            await place.deliberation(open_ones[0], residents)
    published = await board.publish_month(board.previous_month())
    say(f"  居民上报 {made} 条（上月公示已冻结 {published} 个社区）")
