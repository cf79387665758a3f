"""Volunteer activities: sign-up within capacity (a conditional UPDATE on the activity row), check-in and
check-out with a position inside the activity's geofence, and hours credited once on check-out through the
ledger (``earn_activity``, whose idempotency key is per activity and volunteer)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from backend.core import audit
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.ledger import service as ledger
from backend.models.org import OrgUnit
from backend.models.volunteers import Activity, ActivitySignup, SignupStatus
from backend.store.places import place_of
from backend.volunteers import geohash, repository
from backend.volunteers.exceptions import (
    ActivityCancelled,
    ActivityFull,
    NotCheckedIn,
    SignupNotOpen,
    TooFarToCheckIn,
)
from backend.volunteers.schemas import ActivityIn, ActivityOut, SignupOut


def activity_out(a: Activity, my_status: SignupStatus | None = None) -> ActivityOut:
    return ActivityOut(
        id=a.id,
        title=a.title,
        description=a.description,
        place=a.place,
        lat=a.lat,
        lng=a.lng,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        capacity=a.capacity,
        signed_up=a.signed_up,
        credit_minutes=a.credit_minutes,
        is_cancelled=a.is_cancelled,
        community_id=a.community_id,
        my_status=my_status,
    )


def signup_out(s: ActivitySignup, credited: int | None = None) -> SignupOut:
    return SignupOut(
        activity_id=s.activity_id,
        volunteer_id=s.volunteer_id,
        status=s.status,
        check_in_at=s.check_in_at,
        check_out_at=s.check_out_at,
        credited_minutes=credited,
    )


async def create(community: OrgUnit, body: ActivityIn, *, actor_id: int) -> Activity:
    async with atomic():
        activity = await Activity.create(
            **body.model_dump(exclude={"community_id"}), created_by_id=actor_id, **place_of(community)
        )
        await audit.record(
            "activity:create", actor_id=actor_id, object_type="volunteer_activity", object_id=activity.id
        )
    return activity


async def sign_up(activity: Activity, volunteer_id: int) -> ActivitySignup:
    """Take a place if one is left (race-free: the capacity is checked by the UPDATE that takes it)."""
    if activity.is_cancelled:
        raise ActivityCancelled()
    async with atomic():
        took = await Activity.filter(id=activity.id, is_cancelled=False, signed_up__lt=F("capacity")).update(
            signed_up=F("signed_up") + 1
        )
        if not took:
            raise ActivityFull(detail={"capacity": activity.capacity})
        existing = await repository.signup(activity.id, volunteer_id)
        if existing is None:
            try:
                async with atomic():
                    return await ActivitySignup.create(activity_id=activity.id, volunteer_id=volunteer_id)
            except IntegrityError:
                existing = await repository.signup(activity.id, volunteer_id)
        # signed up before: only a cancelled sign-up comes back (and then it takes the place taken above)
        back = await ActivitySignup.filter(id=existing.id, status=SignupStatus.CANCELLED).update(
            status=SignupStatus.SIGNED_UP, updated_at=utcnow()
        )
        if not back:
            raise SignupNotOpen("您已报名该活动")
    return await ActivitySignup.get(id=existing.id)


async def cancel(activity: Activity, volunteer_id: int) -> ActivitySignup:
    async with atomic():
        signup = await repository.signup(activity.id, volunteer_id)
        if signup is None or not await ActivitySignup.filter(
            id=signup.id, status=SignupStatus.SIGNED_UP
        ).update(status=SignupStatus.CANCELLED, updated_at=utcnow()):
            raise SignupNotOpen("只有已报名、未签到的活动可以取消报名")
        await Activity.filter(id=activity.id, signed_up__gt=0).update(signed_up=F("signed_up") - 1)
    return await ActivitySignup.get(id=signup.id)


def _inside(activity: Activity, lat: float, lng: float) -> None:
    if activity.lat is None or activity.lng is None:
        return
    d = geohash.distance_m(activity.lat, activity.lng, lat, lng)
    if d > activity.geofence_m:
        raise TooFarToCheckIn(detail={"distance_m": round(d), "geofence_m": activity.geofence_m})


async def check_in(activity: Activity, volunteer_id: int, lat: float, lng: float) -> ActivitySignup:
    if activity.is_cancelled:
        raise ActivityCancelled()
    _inside(activity, lat, lng)
    signup = await repository.signup(activity.id, volunteer_id)
    if signup is None or not await ActivitySignup.filter(id=signup.id, status=SignupStatus.SIGNED_UP).update(
        status=SignupStatus.CHECKED_IN,
        check_in_at=utcnow(),
        check_in_lat=lat,
        check_in_lng=lng,
        updated_at=utcnow(),
    ):
        raise SignupNotOpen("请先报名；已签到的无需重复签到")
    return await ActivitySignup.get(id=signup.id)


async def check_out(
    activity: Activity, volunteer_id: int, lat: float, lng: float, *, community: OrgUnit
) -> tuple[ActivitySignup, int]:
    """Check out and credit the activity's minutes, once (the check-out is a conditional UPDATE and the
    ledger's key is per activity and volunteer)."""
    _inside(activity, lat, lng)
    signup = await repository.signup(activity.id, volunteer_id)
    if signup is None:
        raise NotCheckedIn()
    async with atomic():
        if not await ActivitySignup.filter(id=signup.id, status=SignupStatus.CHECKED_IN).update(
            status=SignupStatus.CHECKED_OUT,
            check_out_at=utcnow(),
            check_out_lat=lat,
            check_out_lng=lng,
            updated_at=utcnow(),
        ):
            raise NotCheckedIn() if signup.status == SignupStatus.SIGNED_UP else SignupNotOpen("已经签退过")
        posted = await ledger.earn_activity(
            volunteer_id,
            community=community,
            minutes=activity.credit_minutes,
            activity_id=activity.id,
            actor_id=volunteer_id,
            reason=f"参加活动「{activity.title[:40]}」",
        )
        await ActivitySignup.filter(id=signup.id).update(transfer_id=posted.transfer.id)
    return await ActivitySignup.get(id=signup.id), activity.credit_minutes
