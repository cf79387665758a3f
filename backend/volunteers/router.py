"""/api/v1/volunteers: my registration and profile, staff registration and approval (ID numbers masked, the
clear value only through ``/sensitive``, audited), teams, 双报到, 帮扶对子 pairings and activities."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.auth.dependencies import CurrentUser
from backend.core.deps import SettingsDep
from backend.core.errors import AlreadyExists, Forbidden, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.models.volunteers import ActivitySignup, VolunteerStatus
from backend.store.places import household_of, member_scope, place_of
from backend.volunteers import activities, repository, service
from backend.volunteers.dependencies import (
    Admins,
    MyActiveProfile,
    MyProfile,
    ReadableProfile,
    Readers,
    VisibleActivity,
    WritablePairing,
    WritableProfile,
    WritableTeam,
    admins,
    community_in,
    person_in,
    readers,
)
from backend.volunteers.exceptions import (
    ActivityCancelled,
    ActivityFull,
    ActivityNotFound,
    AlreadyMember,
    AlreadyPaired,
    AlreadyRegistered,
    InvalidIdNumber,
    NotAnActiveVolunteer,
    NotCheckedIn,
    PairingNotFound,
    PhoneNotVerified,
    ProfileNotPending,
    SignupNotOpen,
    TeamNotFound,
    TooFarToCheckIn,
    VolunteerNotFound,
)
from backend.volunteers.schemas import (
    ActivityIn,
    ActivityOut,
    DualRegistrationIn,
    DualRegistrationOut,
    MemberIn,
    PairingIn,
    PairingOut,
    PositionIn,
    ProfileOut,
    ProfileSensitive,
    ProfileUpdate,
    ReasonIn,
    RegistrationIn,
    SignupOut,
    StaffProfileUpdate,
    StaffRegistrationIn,
    TeamIn,
    TeamOut,
)

router = APIRouter(prefix="/api/v1/volunteers", tags=["volunteers"])


def _pairing_out(p) -> PairingOut:  # type: ignore[no-untyped-def]
    return PairingOut(
        id=p.id,
        volunteer_id=p.volunteer_id,
        volunteer_name=p.volunteer.name,
        resident_id=p.resident_id,
        resident_name=p.resident.name,
        active=p.active_key is not None,
        note=p.note,
        started_at=p.started_at,
        ended_at=p.ended_at,
    )


# ------------------------------------------------------------------------------------------------ me


@router.post(
    "/me",
    response_model=ProfileOut,
    status_code=201,
    responses=responses(PhoneNotVerified, InvalidIdNumber, NotFound, AlreadyRegistered),
)
async def register_me(body: RegistrationIn, principal: CurrentUser, settings: SettingsDep):
    """志愿者实名登记（需已验证手机号；身份证号加密保存），社区审核后生效。"""
    community = await community_in(await member_scope(principal), body.community_id)
    profile = await service.register(
        settings,
        principal.user,
        community,
        body,
        actor_id=principal.id,
        default_max_active=settings.volunteer_max_active_tasks,
    )
    return service.profile_out(profile)


@router.get("/me", response_model=ProfileOut, responses=responses(VolunteerNotFound))
async def get_my_profile(profile: MyProfile):
    """我的志愿者资料（身份证号脱敏）。"""
    return service.profile_out(profile)


@router.patch("/me", response_model=ProfileOut, responses=responses(VolunteerNotFound))
async def update_my_profile(body: ProfileUpdate, profile: MyProfile, principal: CurrentUser):
    """修改技能、服务范围、每周可服务时间。"""
    return service.profile_out(await service.update(profile, body, actor_id=principal.id))


@router.get("/me/pairings", response_model=list[PairingOut])
async def my_pairings(principal: CurrentUser):
    """我结对帮扶的居民（或帮扶我的志愿者）。"""
    from tortoise.expressions import Q  # noqa: PLC0415

    from backend.models.volunteers import Pairing  # noqa: PLC0415

    rows = (
        await Pairing.filter(
            Q(volunteer_id=principal.id) | Q(resident_id=principal.id), active_key__not_isnull=True
        )
        .select_related("volunteer", "resident")
        .order_by("id")
    )
    return [_pairing_out(p) for p in rows]


# ------------------------------------------------------------------------------------------------ teams


@router.post("/teams", response_model=TeamOut, status_code=201, responses=responses(NotFound, AlreadyExists))
async def create_team(body: TeamIn, principal: Admins):
    """新建志愿服务队（退役军人志愿服务队、红色物业队……）。"""
    team = await service.create_team(
        await community_in(admins(principal), body.community_id), body, actor_id=principal.id
    )
    return TeamOut(
        id=team.id,
        name=team.name,
        kind=team.kind,
        community_id=team.community_id,
        leader_id=team.leader_id,
        member_ids=[],
    )


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(principal: Readers):
    """我负责范围内的志愿服务队。"""
    teams = await repository.scoped_teams(readers(principal)).order_by("id").limit(500)
    members = await service.team_member_ids([t.id for t in teams])
    return [
        TeamOut(
            id=t.id,
            name=t.name,
            kind=t.kind,
            community_id=t.community_id,
            leader_id=t.leader_id,
            member_ids=members[t.id],
        )
        for t in teams
    ]


@router.post(
    "/teams/{team_id}/members", status_code=204, responses=responses(TeamNotFound, NotFound, AlreadyMember)
)
async def add_team_member(team: WritableTeam, body: MemberIn, principal: Admins):
    """把一名在册志愿者加入服务队。"""
    profile = await repository.profile_of(body.user_id)
    if profile is None or profile.status != VolunteerStatus.ACTIVE or not admins(principal).covers(profile):
        raise VolunteerNotFound(detail={"loc": "body.user_id"})
    await service.add_member(team, body.user_id, actor_id=principal.id)
    return Response(status_code=204)


@router.delete(
    "/teams/{team_id}/members/{user_id}", status_code=204, responses=responses(TeamNotFound, NotFound)
)
async def remove_team_member(team: WritableTeam, user_id: int, principal: Admins):
    if not await service.remove_member(team, user_id, actor_id=principal.id):
        raise NotFound("该志愿者不在队中")
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------------ 双报到


@router.post(
    "/dual-registrations",
    response_model=DualRegistrationOut,
    status_code=201,
    responses=responses(PhoneNotVerified, NotFound, AlreadyRegistered),
)
async def dual_register(body: DualRegistrationIn, principal: CurrentUser):
    """在职党员向居住地社区报到（双报到）。"""
    from backend.models.org import OrgLevel, OrgUnit  # noqa: PLC0415

    if not principal.user.phone:
        raise PhoneNotVerified()
    unit = await OrgUnit.get_or_none(id=body.community_id)
    if unit is None or unit.level != OrgLevel.COMMUNITY:
        raise NotFound("找不到该社区", detail={"loc": "body.community_id"})
    row = await service.dual_register(principal.user, unit, body)
    return DualRegistrationOut(
        id=row.id,
        user_id=row.user_id,
        user_name=principal.user.name,
        community_id=row.community_id,
        work_unit=row.work_unit,
        party_org=row.party_org,
        created_at=row.created_at,
    )


@router.get("/dual-registrations", response_model=Page[DualRegistrationOut])
async def list_dual_registrations(principal: Readers, cursor: CursorParam = None, limit: LimitParam = 50):
    """向本社区报到的在职党员。"""
    qs = repository.scoped_dual_registrations(readers(principal))
    if (before := decode_cursor(cursor)) is not None:
        qs = qs.filter(id__lt=before)
    rows = await qs.order_by("-id").limit(limit + 1).select_related("user")
    return page_of(
        rows,
        limit,
        lambda r: DualRegistrationOut(
            id=r.id,
            user_id=r.user_id,
            user_name=r.user.name,
            community_id=r.community_id,
            work_unit=r.work_unit,
            party_org=r.party_org,
            created_at=r.created_at,
        ),
    )


# ------------------------------------------------------------------------------------------------ 帮扶对子


@router.post(
    "/pairings", response_model=PairingOut, status_code=201, responses=responses(NotFound, AlreadyPaired)
)
async def create_pairing(body: PairingIn, principal: Readers):
    """建立帮扶对子：一名在册志愿者结对一位需要帮助的居民（居民须在我负责的范围内）。"""
    scope = readers(principal)
    resident = await person_in(scope, body.resident_id, "body.resident_id")
    profile = await repository.profile_of(body.volunteer_id)
    if profile is None or profile.status != VolunteerStatus.ACTIVE or body.volunteer_id == body.resident_id:
        raise VolunteerNotFound(detail={"loc": "body.volunteer_id"})
    household = await household_of(resident)
    place = (
        place_of(household)
        if household
        else {
            "street_id": profile.street_id,
            "community_id": profile.community_id,
            "grid_id": None,
            "compound_id": None,
        }
    )
    pairing = await service.pair(profile.user, resident, place, note=body.note, actor_id=principal.id)
    await pairing.fetch_related("volunteer", "resident")
    return _pairing_out(pairing)


@router.get("/pairings", response_model=list[PairingOut])
async def list_pairings(principal: Readers, active: bool = True):
    qs = repository.scoped_pairings(readers(principal))
    qs = qs.filter(active_key__not_isnull=True) if active else qs
    return [
        _pairing_out(p) for p in await qs.order_by("-id").limit(500).select_related("volunteer", "resident")
    ]


@router.post("/pairings/{pairing_id}/end", response_model=PairingOut, responses=responses(PairingNotFound))
async def end_pairing(pairing: WritablePairing, principal: Readers):
    return _pairing_out(await service.end_pairing(pairing, actor_id=principal.id))


# ------------------------------------------------------------------------------------------------ activities


@router.post("/activities", response_model=ActivityOut, status_code=201, responses=responses(NotFound))
async def create_activity(body: ActivityIn, principal: Admins):
    """发布志愿活动（名额、时长、地点与签到范围）。"""
    community = await community_in(admins(principal), body.community_id)
    return activities.activity_out(await activities.create(community, body, actor_id=principal.id))


@router.get("/activities", response_model=list[ActivityOut])
async def list_activities(principal: CurrentUser, include_past: bool = False):
    """我所在社区（或负责范围）的志愿活动，最近的在前。"""
    from backend.core.timeutil import utcnow  # noqa: PLC0415

    scope = (await member_scope(principal)).union(readers(principal))
    qs = repository.scoped_activities(scope)
    if not include_past:
        qs = qs.filter(ends_at__gte=utcnow())
    rows = await qs.order_by("starts_at").limit(200)
    mine = dict(
        await ActivitySignup.filter(
            volunteer_id=principal.id, activity_id__in=[a.id for a in rows]
        ).values_list("activity_id", "status")
    )
    return [activities.activity_out(a, mine.get(a.id)) for a in rows]


@router.get("/activities/mine", response_model=list[ActivityOut])
async def my_activities(principal: CurrentUser):
    """我报名的活动。"""
    signups = (
        await ActivitySignup.filter(volunteer_id=principal.id)
        .select_related("activity")
        .order_by("-id")
        .limit(200)
    )
    return [activities.activity_out(s.activity, s.status) for s in signups]


ACTIVITY_ERRORS = (ActivityNotFound, NotAnActiveVolunteer, ActivityCancelled, ActivityFull, SignupNotOpen)


@router.post(
    "/activities/{activity_id}/signup",
    response_model=SignupOut,
    status_code=201,
    responses=responses(*ACTIVITY_ERRORS),
)
async def sign_up(activity: VisibleActivity, profile: MyActiveProfile):
    """报名（名额先到先得）。"""
    return activities.signup_out(await activities.sign_up(activity, profile.user_id))


@router.post(
    "/activities/{activity_id}/cancel-signup", response_model=SignupOut, responses=responses(*ACTIVITY_ERRORS)
)
async def cancel_signup(activity: VisibleActivity, profile: MyActiveProfile):
    return activities.signup_out(await activities.cancel(activity, profile.user_id))


@router.post(
    "/activities/{activity_id}/check-in",
    response_model=SignupOut,
    responses=responses(*ACTIVITY_ERRORS, TooFarToCheckIn),
)
async def check_in(activity: VisibleActivity, profile: MyActiveProfile, body: PositionIn):
    """到场签到（须在活动地点附近）。"""
    return activities.signup_out(await activities.check_in(activity, profile.user_id, body.lat, body.lng))


@router.post(
    "/activities/{activity_id}/check-out",
    response_model=SignupOut,
    responses=responses(*ACTIVITY_ERRORS, TooFarToCheckIn, NotCheckedIn),
)
async def check_out(activity: VisibleActivity, profile: MyActiveProfile, body: PositionIn):
    """签退：按活动时长记入时间银行（每人每个活动只记一次）。"""
    from backend.models.org import OrgUnit  # noqa: PLC0415

    community = await OrgUnit.get(id=activity.community_id)
    signup, minutes = await activities.check_out(
        activity, profile.user_id, body.lat, body.lng, community=community
    )
    return activities.signup_out(signup, minutes)


# ------------------------------------------------------------------------------------------------ staff


@router.post(
    "",
    response_model=ProfileOut,
    status_code=201,
    responses=responses(PhoneNotVerified, InvalidIdNumber, NotFound, AlreadyRegistered),
)
async def register_volunteer(body: StaffRegistrationIn, principal: Admins, settings: SettingsDep):
    """工作人员代为登记志愿者（如电话或上门登记）。"""
    scope = admins(principal)
    community = await community_in(scope, body.community_id)
    person = await person_in(scope, body.user_id, "body.user_id")
    profile = await service.register(
        settings,
        person,
        community,
        body,
        actor_id=principal.id,
        default_max_active=settings.volunteer_max_active_tasks,
    )
    return service.profile_out(profile)


@router.get("", response_model=Page[ProfileOut])
async def list_volunteers(
    principal: Readers,
    status: VolunteerStatus | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """我负责范围内的志愿者（身份证号、电话脱敏）。"""
    rows = await repository.profiles(
        readers(principal), status=status, before_id=decode_cursor(cursor), limit=limit
    )
    return page_of(rows, limit, service.profile_out)


@router.get("/{profile_id}", response_model=ProfileOut, responses=responses(VolunteerNotFound))
async def get_volunteer(profile: ReadableProfile):
    return service.profile_out(profile)


@router.get(
    "/{profile_id}/sensitive",
    response_model=ProfileSensitive,
    responses=responses(VolunteerNotFound, Forbidden),
)
async def reveal_volunteer(profile: ReadableProfile, principal: Readers, settings: SettingsDep):
    """查看完整身份证号和电话（记录审计日志）。"""
    return await service.reveal(settings, principal, profile)


@router.patch("/{profile_id}", response_model=ProfileOut, responses=responses(VolunteerNotFound))
async def update_volunteer(body: StaffProfileUpdate, profile: WritableProfile, principal: Admins):
    return service.profile_out(await service.update(profile, body, actor_id=principal.id))


@router.post(
    "/{profile_id}/approve",
    response_model=ProfileOut,
    responses=responses(VolunteerNotFound, ProfileNotPending),
)
async def approve_volunteer(profile: WritableProfile, principal: Admins):
    """审核通过实名登记：成为在册志愿者。"""
    return service.profile_out(await service.approve(principal, profile))


@router.post("/{profile_id}/suspend", response_model=ProfileOut, responses=responses(VolunteerNotFound))
async def suspend_volunteer(body: ReasonIn, profile: WritableProfile, principal: Admins):
    return service.profile_out(await service.suspend(principal, profile, body.reason))
