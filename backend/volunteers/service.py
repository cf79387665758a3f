"""Volunteers: real-name registration (ID number encrypted, shown masked, revealed only with an audit row),
approval by community staff, service area and availability, teams, 双报到 and 帮扶对子 pairings.

Callers: ``from backend.volunteers import service as volunteers``. Functions take explicit arguments and open
their own ``atomic()`` (nested calls join the caller's transaction)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from backend.auth import principals
from backend.auth.principal import Principal
from backend.config import Settings
from backend.core import audit, crypto, privacy
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.org import OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.models.volunteers import (
    ALWAYS,
    DualRegistration,
    Pairing,
    TeamMember,
    VolunteerProfile,
    VolunteerStatus,
    VolunteerTeam,
)
from backend.store.places import household_of, place_of
from backend.users.merge import on_user_merged
from backend.volunteers import geohash, repository
from backend.volunteers.exceptions import (
    AlreadyMember,
    AlreadyPaired,
    AlreadyRegistered,
    InvalidIdNumber,
    PhoneNotVerified,
    ProfileNotPending,
)
from backend.volunteers.schemas import (
    DualRegistrationIn,
    ProfileOut,
    ProfileSensitive,
    ProfileUpdate,
    RegistrationIn,
    StaffProfileUpdate,
    TeamIn,
)

VOLUNTEER_ADMINS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
VOLUNTEER_READERS = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


def profile_out(p: VolunteerProfile) -> ProfileOut:
    return ProfileOut(
        id=p.id,
        user_id=p.user_id,
        real_name=p.real_name,
        id_number_masked=p.id_number_masked,
        phone_masked=privacy.mask_phone(p.user.phone) if p.user else None,
        status=p.status,
        status_label=VolunteerStatus(p.status).label,
        skills=list(p.skills or []),
        lat=p.lat,
        lng=p.lng,
        service_radius_m=p.service_radius_m,
        availability=p.availability,
        max_active=p.max_active,
        active_tasks=p.active_tasks,
        completed_tasks=p.completed_tasks,
        is_party_member=p.is_party_member,
        is_veteran=p.is_veteran,
        community_id=p.community_id,
        created_at=p.created_at,
    )


async def register(
    settings: Settings,
    user: User,
    community: OrgUnit,
    body: RegistrationIn,
    *,
    actor_id: int,
    default_max_active: int,
) -> VolunteerProfile:
    """A real-name registration, pending until community staff approve it."""
    if not user.phone:
        raise PhoneNotVerified()
    number = body.id_number.upper()
    if not crypto.valid_id_number(number):
        raise InvalidIdNumber(detail={"loc": "body.id_number"})
    fingerprint = crypto.fingerprint(settings, number)
    household = await household_of(
        user
    )  # placed at home when they live in that community (their grid's staff see them)
    place = (
        place_of(household) if household and household.community_id == community.id else place_of(community)
    )
    try:
        async with atomic():
            profile = await VolunteerProfile.create(
                user_id=user.id,
                real_name=body.real_name,
                id_number_hash=fingerprint,
                id_number_enc=crypto.encrypt(settings, number, bound_to=fingerprint),
                id_number_masked=privacy.mask_id_number(number),
                skills=sorted(set(body.skills)),
                lat=body.area.lat,
                lng=body.area.lng,
                **geohash.cells(body.area.lat, body.area.lng),
                service_radius_m=body.area.radius_m,
                availability=body.availability or ALWAYS,
                max_active=default_max_active,
                is_party_member=body.is_party_member,
                is_veteran=body.is_veteran,
                registered_by_id=actor_id,
                **place,
            )
            await audit.record(
                "volunteer:register",
                actor_id=actor_id,
                object_type="volunteer_profile",
                object_id=profile.id,
                on_behalf_of_id=user.id if actor_id != user.id else None,
            )
    except IntegrityError as exc:
        raise AlreadyRegistered() from exc
    profile.user = user
    return profile


async def update(
    profile: VolunteerProfile, body: ProfileUpdate | StaffProfileUpdate, *, actor_id: int
) -> VolunteerProfile:
    changes: dict = {}
    if body.skills is not None:
        changes["skills"] = sorted(set(body.skills))
    if body.area is not None:
        changes.update(
            lat=body.area.lat,
            lng=body.area.lng,
            **geohash.cells(body.area.lat, body.area.lng),
            service_radius_m=body.area.radius_m,
        )
    if body.availability is not None:
        changes["availability"] = body.availability
    max_active = getattr(body, "max_active", None)
    async with atomic():
        if changes:
            await VolunteerProfile.filter(id=profile.id).update(**changes, updated_at=utcnow())
        if max_active is not None:  # never below what they hold now (the CHECK agrees)
            from tortoise.expressions import F  # noqa: PLC0415

            await VolunteerProfile.filter(id=profile.id, active_tasks__lte=max_active).update(
                max_active=max_active
            )
            await VolunteerProfile.filter(id=profile.id, active_tasks__gt=max_active).update(
                max_active=F("active_tasks")
            )
        await audit.record(
            "volunteer:update",
            actor_id=actor_id,
            object_type="volunteer_profile",
            object_id=profile.id,
            detail={"fields": sorted([*changes, *(["max_active"] if max_active else [])])},
        )
    return await VolunteerProfile.get(id=profile.id).select_related("user")


async def approve(principal: Principal, profile: VolunteerProfile) -> VolunteerProfile:
    """Community staff checked the real name: the profile becomes active and the person holds the volunteer
    role in that community (a grant, so announcements and recipients see them too)."""
    async with atomic():
        changed = await VolunteerProfile.filter(id=profile.id, status=VolunteerStatus.PENDING).update(
            status=VolunteerStatus.ACTIVE, approved_by_id=principal.id, approved_at=utcnow()
        )
        if not changed:
            raise ProfileNotPending()
        await RoleGrant.bulk_create(
            [
                RoleGrant(
                    user_id=profile.user_id,
                    role=Role.VOLUNTEER,
                    org_unit_id=profile.community_id,
                    granted_by_id=principal.id,
                )
            ],
            ignore_conflicts=True,
        )
        principals.forget_user(profile.user_id)
        await audit.record(
            "volunteer:approve", actor_id=principal.id, object_type="volunteer_profile", object_id=profile.id
        )
    return await VolunteerProfile.get(id=profile.id).select_related("user")


async def suspend(principal: Principal, profile: VolunteerProfile, reason: str) -> VolunteerProfile:
    async with atomic():
        await VolunteerProfile.filter(id=profile.id).update(
            status=VolunteerStatus.SUSPENDED, updated_at=utcnow()
        )
        await audit.record(
            "volunteer:suspend",
            actor_id=principal.id,
            object_type="volunteer_profile",
            object_id=profile.id,
            detail={"reason": reason},
        )
    return await VolunteerProfile.get(id=profile.id).select_related("user")


async def reveal(settings: Settings, principal: Principal, profile: VolunteerProfile) -> ProfileSensitive:
    """The clear ID number and phone, for a role that needs them; the read is audited."""
    await privacy.reveal(
        principal, object_type="volunteer_profile", object_id=profile.id, fields=("id_number", "phone")
    )
    number = crypto.decrypt(settings, profile.id_number_enc, bound_to=profile.id_number_hash)
    return ProfileSensitive(
        id=profile.id, real_name=profile.real_name, id_number=number, phone=profile.user.phone
    )


# ------------------------------------------------------------------------------------------------ teams


async def create_team(community: OrgUnit, body: TeamIn, *, actor_id: int) -> VolunteerTeam:
    try:
        async with atomic():
            team = await VolunteerTeam.create(
                name=body.name, kind=body.kind, leader_id=body.leader_id, **place_of(community)
            )
            await audit.record(
                "volunteer:team_create", actor_id=actor_id, object_type="volunteer_team", object_id=team.id
            )
    except IntegrityError as exc:
        from backend.core.errors import AlreadyExists  # noqa: PLC0415

        raise AlreadyExists("本社区已有同名的志愿服务队") from exc
    return team


async def add_member(team: VolunteerTeam, volunteer_id: int, *, actor_id: int) -> None:
    try:
        async with atomic():
            await TeamMember.create(team_id=team.id, volunteer_id=volunteer_id)
            await audit.record(
                "volunteer:team_join",
                actor_id=actor_id,
                object_type="volunteer_team",
                object_id=team.id,
                detail={"volunteer_id": volunteer_id},
            )
    except IntegrityError as exc:
        raise AlreadyMember() from exc


async def remove_member(team: VolunteerTeam, volunteer_id: int, *, actor_id: int) -> bool:
    async with atomic():
        gone = await TeamMember.filter(team_id=team.id, volunteer_id=volunteer_id).delete()
        if gone:
            await audit.record(
                "volunteer:team_leave",
                actor_id=actor_id,
                object_type="volunteer_team",
                object_id=team.id,
                detail={"volunteer_id": volunteer_id},
            )
    return bool(gone)


async def team_member_ids(team_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {t: [] for t in team_ids}
    for team_id, uid in (
        await TeamMember.filter(team_id__in=team_ids).order_by("id").values_list("team_id", "volunteer_id")
    ):
        out[team_id].append(uid)
    return out


# ------------------------------------------------------------------------------------------------ 双报到


async def dual_register(user: User, community: OrgUnit, body: DualRegistrationIn) -> DualRegistration:
    """An in-service party member reports to their home community (once per community)."""
    try:
        async with atomic():
            row = await DualRegistration.create(
                user_id=user.id, work_unit=body.work_unit, party_org=body.party_org, **place_of(community)
            )
            await audit.record(
                "volunteer:dual_register", actor_id=user.id, object_type="org_unit", object_id=community.id
            )
    except IntegrityError as exc:
        raise AlreadyRegistered("已经向该社区报到过") from exc
    return row


# ------------------------------------------------------------------------------------------------ 帮扶对子


async def pair(volunteer: User, resident: User, place: dict, *, note: str | None, actor_id: int) -> Pairing:
    """Pair a volunteer with a resident in need (one active pairing per resident: a unique column)."""
    try:
        async with atomic():
            pairing = await Pairing.create(
                volunteer_id=volunteer.id,
                resident_id=resident.id,
                active_key=resident.id,
                note=note,
                created_by_id=actor_id,
                **place,
            )
            await audit.record(
                "volunteer:pair",
                actor_id=actor_id,
                object_type="volunteer_pairing",
                object_id=pairing.id,
                detail={"volunteer_id": volunteer.id, "resident_id": resident.id},
            )
    except IntegrityError as exc:
        raise AlreadyPaired() from exc
    return pairing


async def end_pairing(pairing: Pairing, *, actor_id: int) -> Pairing:
    async with atomic():
        await Pairing.filter(id=pairing.id, active_key__not_isnull=True).update(
            active_key=None, ended_at=utcnow()
        )
        await audit.record(
            "volunteer:unpair", actor_id=actor_id, object_type="volunteer_pairing", object_id=pairing.id
        )
    return await Pairing.get(id=pairing.id).select_related("volunteer", "resident")


async def paired_volunteer(resident_id: int | None) -> int | None:
    """The volunteer paired with this resident, if any (matching offers them a task first)."""
    if resident_id is None:
        return None
    pairing = await repository.active_pairing_of(resident_id)
    return pairing.volunteer_id if pairing else None


# ------------------------------------------------------------------------------------------------ merges


@on_user_merged
async def _move_volunteer_rows(from_user_id: int, to_user_id: int) -> None:
    """A placeholder account merged into the real one: its profile (unless the real one has one) and its
    pairings follow."""
    if not await VolunteerProfile.exists(user_id=to_user_id):
        await VolunteerProfile.filter(user_id=from_user_id).update(user_id=to_user_id)
    await Pairing.filter(resident_id=from_user_id).update(resident_id=to_user_id)
    await Pairing.filter(resident_id=to_user_id, active_key=from_user_id).update(active_key=to_user_id)
    await Pairing.filter(volunteer_id=from_user_id).update(volunteer_id=to_user_id)
