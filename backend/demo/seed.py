"""Demo data: a street modelled on Lanzhou's 土门墩街道 (5 communities, 35 grids, 37 compounds, buildings,
households, a few hundred people in every role, a few departments). Names and numbers are illustrative.

Deterministic (fixed random seed) and idempotent: a second run finds the demo street and changes nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from dataclasses import dataclass, field
from typing import Any

from backend.core import security
from backend.core.db import atomic
from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import ancestor_columns

DEMO_PASSWORD = "jinlin2026"
STREET_CODE = "DEMO-TMD"
CENTER = (36.0712, 103.7405)  # 七里河区 土门墩 (GCJ-02), roughly
COMMUNITIES = ["土门墩社区", "柳家营社区", "王家庄社区", "郑家庄社区", "建兰路社区"]
GRIDS_PER_COMMUNITY = 7
EXTRA_COMPOUND_GRIDS = {0, 8}  # grid indexes that hold a second compound: 35 grids, 37 compounds
COMPOUND_NAMES = [
    "兰工坪家属院", "柳苑小区", "金港城", "民安小区", "阳光家园", "晨光小区", "福苑小区", "和平里", "西湖小区",
    "铁路新村", "电力家属院", "雁园小区", "康乐小区", "民主西路小区", "建兰园", "华兴园", "馨园小区", "秀川新居",
    "安宁小区", "长城小区", "兴隆园", "七里河小区", "林业家属院", "煤建小区", "幸福里", "嘉园小区", "友谊小区",
    "金色家园", "龙苑小区", "锦绣园", "泰和园", "紫荆苑", "枫林苑", "春晖小区", "新港小区", "安居园", "铜城小区",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "建国秀英桂兰玉兰淑珍德明志强丽娟海燕春梅文华国庆红梅宏伟晓东小红军平永福凤英金花秀芳立新爱华静怡子涵浩然欣怡"
DEPARTMENTS = [
    ("城市管理综合执法队", "城管"), ("房产服务中心", "房产"), ("供热公司七里河分公司", "供热"),
    ("市场监督管理所", "市场监管"), ("土门墩派出所", "公安"), ("供水公司客服站", "供水"),
]


@dataclass
class DemoAccount:
    role_label: str
    name: str
    phone: str
    place: str


@dataclass
class SeedSummary:
    password: str = DEMO_PASSWORD
    communities: int = 0
    grids: int = 0
    compounds: int = 0
    buildings: int = 0
    households: int = 0
    users: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)


class _Seeder:
    def __init__(self) -> None:
        self.rng = random.Random(2026)
        self.phone_seq = 0
        self.password_hash = security.hash_password(DEMO_PASSWORD)

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.choice((1, 2))))

    def phone(self) -> str:
        self.phone_seq += 1
        return f"1390931{self.phone_seq:04d}"

    async def unit(self, level: OrgLevel, name: str, parent: OrgUnit | None, **extra: Any) -> OrgUnit:
        unit = await OrgUnit.create(level=level, name=name, parent=parent, **ancestor_columns(parent, level, None), **extra)
        setattr(unit, level.column, unit.id)
        await unit.save(update_fields=[level.column])
        return unit

    def near(self, spread: float = 0.02) -> dict[str, float]:
        return {
            "lat": round(CENTER[0] + self.rng.uniform(-spread, spread) / 2, 6),
            "lng": round(CENTER[1] + self.rng.uniform(-spread, spread), 6),
        }

    async def person(
        self, role: Role, unit: OrgUnit | None, *, demo: bool = False, household: Household | None = None,
        department: Department | None = None, name: str | None = None,
    ) -> User:
        user = await User.create(
            name=name or self.name(), phone=self.phone(), household=household, is_demo=demo,
            password_hash=self.password_hash if role not in (Role.RESIDENT,) or demo else None,
        )
        await RoleGrant.create(user=user, role=role, org_unit=unit, department=department)
        return user


async def _existing_summary(street: OrgUnit) -> SeedSummary:
    summary = SeedSummary()
    summary.communities = await OrgUnit.filter(parent_id=street.id).count()
    summary.grids = await OrgUnit.filter(level=OrgLevel.GRID).count()
    summary.compounds = await OrgUnit.filter(level=OrgLevel.COMPOUND).count()
    summary.buildings = await OrgUnit.filter(level=OrgLevel.BUILDING).count()
    summary.households = await Household.all().count()
    summary.users = await User.all().count()
    for user in await User.filter(is_demo=True).prefetch_related("grants__org_unit", "grants__department").order_by("id"):
        for grant in user.grants:
            place = grant.org_unit.name if grant.org_unit_id else (grant.department.name if grant.department_id else "全部")
            summary.accounts.append(DemoAccount(Role(grant.role).label, user.name, user.phone or "", place))
    return summary


async def seed(progress: Any = None) -> SeedSummary:
    """Create the demo street unless it exists, then each domain's demo data (``backend/demo/<domain>.py``
    with ``async def seed_domain(street, progress)``, each idempotent); return the demo accounts."""
    street = await OrgUnit.get_or_none(code=STREET_CODE)
    if street is None:
        async with atomic():
            await _build(_Seeder(), progress)
        street = await OrgUnit.get(code=STREET_CODE)
    for name in domain_seeders():
        module = importlib.import_module(name)
        async with atomic():
            await module.seed_domain(street, progress)
    return await _existing_summary(street)


def domain_seeders() -> list[str]:
    import backend.demo

    return [
        f"backend.demo.{m.name}"
        for m in sorted(pkgutil.iter_modules(backend.demo.__path__), key=lambda m: m.name)
        if m.name != "seed"
    ]


async def _build(s: _Seeder, progress: Any) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    street = await s.unit(
        OrgLevel.STREET, "土门墩街道", None, code=STREET_CODE, party_org_name="土门墩街道党工委",
        address="兰州市七里河区", **s.near(0),
    )
    await s.person(Role.ADMIN, None, demo=True, name="管理员")
    await s.person(Role.STREET_STAFF, street, demo=True, name="街道李主任")
    for _ in range(2):
        await s.person(Role.STREET_STAFF, street)
    departments = [await Department.create(name=n, category=c, street=street, duty_phone=s.phone()) for n, c in DEPARTMENTS]
    for i, department in enumerate(departments):
        for j in range(2):
            await s.person(Role.DEPARTMENT_STAFF, None, department=department, demo=(i == 0 and j == 0))

    grid_index = compound_index = 0
    for c, community_name in enumerate(COMMUNITIES):
        community = await s.unit(
            OrgLevel.COMMUNITY, community_name, street, code=f"{STREET_CODE}-C{c + 1}",
            party_org_name=community_name.replace("社区", "社区党委"), **s.near(),
        )
        say(f"  {community_name}")
        for k in range(3):
            await s.person(Role.COMMUNITY_STAFF, community, demo=(c == 0 and k == 0))
        grids = []
        for g in range(GRIDS_PER_COMMUNITY):
            grid = await s.unit(
                OrgLevel.GRID, f"第{g + 1}网格", community, code=f"{STREET_CODE}-C{c + 1}-G{g + 1}",
                party_org_name=f"{community_name}第{g + 1}网格党支部",
            )
            grids.append(grid)
            await s.person(Role.GRID_WORKER, grid, demo=(c == 0 and g == 0))
            compounds = 2 if grid_index in EXTRA_COMPOUND_GRIDS else 1
            grid_index += 1
            for _ in range(compounds):
                await _compound(s, grid, COMPOUND_NAMES[compound_index], demo=(c == 0 and g == 0 and _ == 0))
                compound_index += 1
        for leader in range(2):  # two grid leaders, each over half the community's grids
            leader_user = await User.create(name=s.name(), phone=s.phone(), password_hash=s.password_hash,
                                            is_demo=(c == 0 and leader == 0))
            for grid in grids[leader::2]:
                await RoleGrant.create(user=leader_user, role=Role.GRID_LEADER, org_unit=grid)
        for v in range(12):
            await s.person(Role.VOLUNTEER, community, demo=(c == 0 and v < 2))
        for p in range(8):
            await s.person(Role.PARTY_MEMBER, grids[p % len(grids)], demo=(c == 0 and p == 0))


async def _compound(s: _Seeder, grid: OrgUnit, name: str, *, demo: bool) -> None:
    compound = await s.unit(OrgLevel.COMPOUND, name, grid, party_org_name=f"{name}党小组", **s.near())
    buildings = []
    for b in range(s.rng.randint(3, 6)):
        building = await s.unit(OrgLevel.BUILDING, f"{b + 1}号楼", compound, lat=compound.lat, lng=compound.lng)
        buildings.append(building)
        columns = ancestor_columns(building, OrgLevel.BUILDING, building.id)
        columns.pop("building_id")
        households = []
        for unit_no in range(1, 3):
            for floor in range(1, 7):
                for door in range(1, 3):
                    r = s.rng.random
                    elderly = r() < 0.14
                    households.append(Household(
                        building=building, door_no=f"{unit_no}单元{floor}0{door}",
                        address=f"兰州市七里河区{name}{b + 1}号楼{unit_no}单元{floor}0{door}",
                        contact_phone=s.phone(), members_count=s.rng.randint(1, 5),
                        is_elderly=elderly, is_living_alone=elderly and r() < 0.45, is_disabled=r() < 0.03,
                        is_low_income=r() < 0.04, is_hardship=r() < 0.05, **columns,
                    ))
        await Household.bulk_create(households)
    await s.person(Role.BUILDING_HEAD, compound, demo=demo)
    community = await OrgUnit.get(id=grid.community_id)
    first_building_households = await Household.filter(building_id=buildings[0].id).order_by("id").limit(8)
    for n, household in enumerate(first_building_households):  # a few residents per compound have accounts
        await s.person(Role.RESIDENT, community, household=household, demo=demo and n < 2)
