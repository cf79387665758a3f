"""Demo data for the 爱心超市 and the 服务快递站, so that the catalogue and the task hall are not empty.

Every community of the demo street gets its store with a catalogue priced in love points and stock that
came in as donations from 驻区单位, 社会组织 and private donors (and some purchases), each recorded as a
movement; one item is left low so the alert shows. The community's volunteers get real-name profiles (skills,
a service point near their community, a weekly timetable), approved by community staff, a team, and some a
双报到; each community has one 帮扶对子. The first community also has open help tasks (one asked by a paired
elderly resident, so it is offered to her paired volunteer first, one asked by staff on behalf of a resident
who phoned in), and one delivery order in progress: placed, accepted by a demo volunteer and handed over at
the store.

Everything goes through the services as the people concerned (stock movements, audit rows, offers and
notifications are the real ones). Idempotent: nothing is written when the street already has a store.
Deterministic (fixed random seed), except that matching filters volunteers by the hour of the week it runs.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from tortoise.expressions import Subquery

from backend.auth.principal import Principal
from backend.auth.repository import grants_of_user
from backend.config import get_settings
from backend.core import crypto
from backend.core.timeutil import to_local, utcnow
from backend.ledger import service as ledger
from backend.models.ledger import Currency
from backend.models.org import OrgLevel, OrgUnit
from backend.models.store import DonorKind, Fulfilment, MovementKind, Store, StoreItem
from backend.models.tasks import OfferStatus, Task, TaskOffer
from backend.models.user import Role, RoleGrant, User
from backend.models.volunteers import ALWAYS, VolunteerProfile
from backend.org.scope import unit_scope
from backend.store import orders, repository
from backend.store import service as store_service
from backend.store.places import place_of
from backend.store.schemas import ItemIn, LineIn, MovementIn, OrderIn, StoreIn
from backend.tasks import enums, fulfilment, matching
from backend.tasks import service as tasks
from backend.volunteers import service as volunteers
from backend.volunteers.schemas import DualRegistrationIn, RegistrationIn, ServiceArea, TeamIn

# name, category, unit, points, monthly limit per household (None: none), low-stock alert level
CATALOGUE = [
    ("大米（5公斤）", "粮油", "袋", 30, 1, 5),
    ("面粉（5公斤）", "粮油", "袋", 28, 1, 5),
    ("食用油（5升）", "粮油", "桶", 40, 1, 3),
    ("挂面", "粮油", "把", 5, 4, 10),
    ("鸡蛋（10枚）", "副食", "盒", 10, 2, 5),
    ("纯牛奶（1升）", "副食", "盒", 8, 4, 6),
    ("洗衣液", "日用品", "瓶", 15, 2, 4),
    ("香皂", "日用品", "块", 3, None, 10),
    ("牙膏", "日用品", "支", 5, None, 8),
    ("卫生纸（10卷）", "日用品", "提", 12, 2, 5),
    ("毛巾", "日用品", "条", 6, None, 5),
    ("老花镜", "老年用品", "副", 20, 1, 5),
    ("护膝", "老年用品", "副", 18, None, 3),
    ("棉手套", "冬季用品", "副", 4, None, 5),
    ("口罩（10只）", "防护用品", "包", 3, None, 10),
]
LOW_ITEM = "老花镜"  # left at its alert level in the first store (the low-stock list is not empty)
DONORS = [
    (DonorKind.UNIT, "兰州石化公司"),
    (DonorKind.UNIT, "七里河区人民医院"),
    (DonorKind.UNIT, "中国银行七里河支行"),
    (DonorKind.ORGANISATION, "兰州市慈善总会"),
    (DonorKind.ORGANISATION, "七里河区红十字会"),
    (DonorKind.PERSON, "爱心人士王女士"),
    (DonorKind.PERSON, "退休教师刘老师"),
]
SKILL_CHOICES = ["delivery", "shopping", "meals", "visiting", "escort", "cleaning", "repair", "driving"]
TEAMS = ["红色物业队", "退役军人志愿服务队", "巾帼志愿服务队", "在职党员服务队", "青年志愿服务队"]
WORK_UNITS = [
    ("七里河区教育局", "七里河区教育局机关党支部"),
    ("兰州银行七里河支行", "兰州银行七里河支行党支部"),
]


def _timetable(rng: random.Random) -> str:
    """A week of 168 hours (Monday 00:00 first): always, every day 8–20, weekday evenings and weekends 8–20,
    or weekdays 9–17 (the retired)."""
    kind = rng.choice(("always", "days", "evenings", "weekdays"))
    if kind == "always":
        return ALWAYS
    hours = []
    for day in range(7):
        for hour in range(24):
            if kind == "days":
                on = 8 <= hour < 20
            elif kind == "evenings":
                on = 18 <= hour < 21 if day < 5 else 8 <= hour < 20
            else:
                on = day < 5 and 9 <= hour < 17
            hours.append("1" if on else "0")
    return "".join(hours)


def _id_number(rng: random.Random) -> str:
    """A valid-looking 18-digit ID number of 七里河区 (check digit by GB 11643)."""
    born = date(1955, 1, 1) + timedelta(days=rng.randrange(45 * 365))
    body = f"620103{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + crypto.CHECK[sum(int(d) * w for d, w in zip(body, crypto.WEIGHTS, strict=True)) % 11]


def _near(rng: random.Random, unit: OrgUnit, metres: float) -> tuple[float, float]:
    lat, lng = unit.lat or 36.0712, unit.lng or 103.7405
    return (
        round(lat + rng.uniform(-metres, metres) / 111_320, 6),
        round(lng + rng.uniform(-metres, metres) / 90_000, 6),
    )


async def _principal(user_id: int) -> Principal:
    user = await User.get(id=user_id)
    return Principal(user=user, session_id=None, grants=await grants_of_user(user.id))


async def _holders(role: Role, unit: OrgUnit) -> list[User]:
    ids = RoleGrant.filter(role=role, org_unit_id=unit.id).values("user_id")  # scope: the unit's own grants
    return await User.filter(id__in=Subquery(ids)).order_by("id")


async def _residents(community: OrgUnit) -> list[User]:
    """People with a home in this community (the base seed's residents), the elderly and alone first."""
    people = (
        await User.filter(
            id__in=Subquery(RoleGrant.filter(role=Role.RESIDENT, org_unit_id=community.id).values("user_id")),
            household_id__not_isnull=True,
        )
        .order_by("id")
        .prefetch_related("household")
    )
    return sorted(people, key=lambda u: (not u.household.is_living_alone, not u.household.is_elderly, u.id))


async def seed_domain(street: OrgUnit, progress: Any = None) -> None:
    say = progress.print if progress is not None else (lambda *_: None)
    communities = await unit_scope(street).filter(OrgUnit.filter(level=OrgLevel.COMMUNITY)).order_by("id")
    if not communities or await repository.scoped_stores(unit_scope(street)).exists():
        return
    rng = random.Random(2028)
    for n, community in enumerate(communities):
        staff = (await _holders(Role.COMMUNITY_STAFF, community))[0]  # the demo staff account in the first
        store = await _store(rng, community, staff, low=n == 0)
        profiles = await _volunteers(rng, community, staff)
        pairing = await _pairing(community, staff, profiles)
        say(f"  {community.name}：{store.name}、{len(profiles)} 名在册志愿者、帮扶对子 {pairing}")
        if n == 0:
            await _first_community(community, store, staff, profiles)


async def _store(rng: random.Random, community: OrgUnit, staff: User, *, low: bool) -> Store:
    lat, lng = _near(rng, community, 150)
    store = await store_service.create_store(
        community,
        StoreIn(
            community_id=community.id,
            name=f"{community.name.removesuffix('社区')}爱心超市",
            address=f"{community.name}党群服务中心一楼",
            phone=f"0931-{rng.randrange(2_000_000, 9_999_999)}",
            lat=lat,
            lng=lng,
        ),
        actor_id=staff.id,
    )
    today = to_local(utcnow()).date()  # donation dates are days in Beijing, whatever the server clock zone
    for name, category, unit, points, limit, alert in CATALOGUE:
        item = await store_service.create_item(
            store,
            ItemIn(
                name=name,
                category=category,
                unit=unit,
                price_points=points,
                monthly_limit=limit,
                low_stock_at=alert,
            ),
            actor_id=staff.id,
        )
        if low and name == LOW_ITEM:  # one donation, then breakage: the shelf falls to the alert level
            await _donate(rng, item, staff, alert + 2, today - timedelta(days=20))
            await store_service.record_movement(
                item,
                MovementIn(kind=MovementKind.ADJUSTMENT, qty=-2, reason="镜片破损报废"),
                actor_id=staff.id,
            )
            continue
        for _ in range(rng.randint(1, 3)):
            await _donate(
                rng, item, staff, rng.randrange(10, 61, 5), today - timedelta(days=rng.randint(3, 45))
            )
        if category == "粮油" and rng.random() < 0.5:
            await store_service.record_movement(
                item,
                MovementIn(kind=MovementKind.PURCHASE, qty=20, receipt_no=f"CG-{today:%Y%m}-{item.id:04d}"),
                actor_id=staff.id,
            )
    return store


async def _donate(rng: random.Random, item: StoreItem, staff: User, qty: int, when: date) -> None:
    kind, donor = rng.choice(DONORS)
    await store_service.record_movement(
        item,
        MovementIn(
            kind=MovementKind.DONATION,
            qty=qty,
            donor_kind=kind,
            donor_name=donor,
            donated_on=when,
            receipt_no=f"JZ-{when:%Y%m%d}-{item.id:04d}",
        ),
        actor_id=staff.id,
    )


async def _volunteers(rng: random.Random, community: OrgUnit, staff: User) -> list[VolunteerProfile]:
    """Real-name profiles for the community's volunteers, approved by staff; a team; some 双报到."""
    settings = get_settings()
    reviewer = await _principal(staff.id)
    people = await _holders(Role.VOLUNTEER, community)
    kind = TEAMS[community.id % len(TEAMS)]
    team = await volunteers.create_team(
        community,
        TeamIn(
            community_id=community.id,
            name=f"{community.name.removesuffix('社区')}{kind}",
            kind=kind,
            leader_id=people[0].id if people else None,
        ),
        actor_id=staff.id,
    )
    profiles = []
    for i, person in enumerate(people):
        lat, lng = _near(rng, community, 250 if person.is_demo else 900)
        skills = (
            ["delivery", *rng.sample(SKILL_CHOICES[1:], 2)]
            if person.is_demo or i % 2
            else rng.sample(SKILL_CHOICES, 2)
        )
        body = RegistrationIn(
            real_name=person.name,
            id_number=_id_number(rng),
            community_id=community.id,
            skills=skills,
            area=ServiceArea(lat=lat, lng=lng, radius_m=rng.choice((2000, 3000, 5000))),
            availability=ALWAYS if person.is_demo else _timetable(rng),
            is_party_member=i % 3 == 0,
            is_veteran=i % 5 == 1,
        )
        profile = await volunteers.register(
            settings,
            person,
            community,
            body,
            actor_id=staff.id,
            default_max_active=settings.volunteer_max_active_tasks,
        )
        profiles.append(await volunteers.approve(reviewer, profile))
        if i < 5:
            await volunteers.add_member(team, person.id, actor_id=staff.id)
        if body.is_party_member and i < 4:
            work_unit, party_org = WORK_UNITS[i % len(WORK_UNITS)]
            await volunteers.dual_register(
                person,
                community,
                DualRegistrationIn(community_id=community.id, work_unit=work_unit, party_org=party_org),
            )
    return profiles


async def _pairing(community: OrgUnit, staff: User, profiles: list[VolunteerProfile]) -> str:
    """The community's first volunteer and its most alone elderly resident (the demo resident in the first
    community, so that her account shows it)."""
    residents = await _residents(community)
    demo = [r for r in residents if r.is_demo]
    resident = (demo or residents)[0] if residents else None
    if resident is None or not profiles:
        return "（无）"
    volunteer = await User.get(id=profiles[0].user_id)
    await volunteers.pair(
        volunteer,
        resident,
        place_of(resident.household),
        note="每周上门探望两次，帮忙代购",
        actor_id=staff.id,
    )
    return f"{volunteer.name}—{resident.name}"


async def _first_community(
    community: OrgUnit, store: Store, staff: User, profiles: list[VolunteerProfile]
) -> None:
    """Open help tasks and one delivery on its way, in the community the demo accounts belong to: the first
    demo volunteer is the paired one, the second (the courier) also sees the escort request in the hall."""
    settings = get_settings()
    courier = [p.user_id for p in profiles if p.user.is_demo][-1]
    residents = await _residents(community)
    paired = next((r for r in residents if r.is_demo), residents[0])
    others = [r for r in residents if r.id != paired.id and not r.is_demo]
    asked = await tasks.request_help(
        settings,
        paired,
        paired.household,
        community,
        _kind("shopping"),
        note="帮忙买点青菜和降压药，钱当面给",
        lat=None,
        lng=None,
        actor_id=paired.id,
    )
    await matching.advance(asked, from_wave=-1)  # offered to her 帮扶对子 volunteer first
    phoned = others[0]
    by_phone = await tasks.request_help(
        settings,
        phoned,
        phoned.household,
        community,
        _kind("escort"),
        note="周四上午去七里河区人民医院复查，需要有人陪同（电话求助，社区代为登记）",
        lat=None,
        lng=None,
        actor_id=staff.id,
    )
    await matching.advance(by_phone, from_wave=-1)
    await _offered(by_phone, courier, staff)
    await _delivery_on_its_way(settings, community, store, staff, others[1], courier)


async def _offered(task: Task, volunteer_id: int, staff: User) -> None:
    """Make sure this volunteer was offered the task: if the wave went to others, staff ask them directly."""
    if not await TaskOffer.exists(task_id=task.id, volunteer_id=volunteer_id, status=OfferStatus.OPEN):
        await tasks.offer_to(await Task.get(id=task.id), volunteer_id, actor_id=staff.id)


async def _delivery_on_its_way(
    settings: Any,
    community: OrgUnit,
    store: Store,
    staff: User,
    resident: User,
    courier: int,
) -> None:
    """An elderly resident orders rice and eggs for delivery with her care points; a demo volunteer accepts
    and collects the goods at the store: the order is on its way."""
    await ledger.award(
        resident.id,
        community=community,
        currency=Currency.POINT,
        amount=60,
        reason="关爱积分（演示）",
        actor_id=staff.id,
        idempotency_key=f"demo:delivery:points:{resident.id}",
    )
    wanted = {"大米（5公斤）": 1, "鸡蛋（10枚）": 1}
    items = {i.name: i.id for i in await StoreItem.filter(store_id=store.id, name__in=list(wanted))}
    body = OrderIn(
        store_id=store.id,
        fulfilment=Fulfilment.DELIVERY,
        note="放在门口就行，谢谢",
        lines=[LineIn(item_id=items[name], qty=qty) for name, qty in wanted.items()],
    )
    ctx = await repository.order_context(
        store.id, [ln.item_id for ln in body.lines], resident.household_id, home=True
    )
    placed = await orders.place(settings, ctx, resident, body, actor_id=resident.id)
    task = await Task.get(id=placed.task_id)
    await matching.advance(task, from_wave=-1)
    await _offered(task, courier, staff)
    accepted = await tasks.accept(await Task.get(id=task.id), courier)
    await fulfilment.pick_up(accepted, actor_id=staff.id)


def _kind(code: str) -> tuple[str, str, str | None]:
    name, skill = enums.DEFAULT_HELP_KINDS[code]
    return code, name, skill
