"""Loaders for the volunteers routes: the object if it lies in the caller's scope, else 404. Reading profiles
needs a staff role from grid worker up; approving, teams and activities need community staff or above."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser, require_roles
from backend.auth.principal import Principal
from backend.core.errors import NotFound
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import User
from backend.models.volunteers import Activity, Pairing, VolunteerProfile, VolunteerStatus, VolunteerTeam
from backend.org.scope import Scope, scope_of
from backend.store.places import member_scope
from backend.users import repository as users_repository
from backend.volunteers import repository
from backend.volunteers.exceptions import (
    ActivityNotFound,
    NotAnActiveVolunteer,
    PairingNotFound,
    TeamNotFound,
    VolunteerNotFound,
)
from backend.volunteers.service import VOLUNTEER_ADMINS, VOLUNTEER_READERS

Id = Annotated[int, Path(gt=0, le=2**62)]
Readers = Annotated[Principal, Depends(require_roles(*VOLUNTEER_READERS))]
Admins = Annotated[Principal, Depends(require_roles(*VOLUNTEER_ADMINS))]


def readers(principal: Principal) -> Scope:
    return scope_of(principal, VOLUNTEER_READERS)


def admins(principal: Principal) -> Scope:
    return scope_of(principal, VOLUNTEER_ADMINS)


async def community_in(scope: Scope, community_id: int, loc: str = "body.community_id") -> OrgUnit:
    unit = await OrgUnit.get_or_none(id=community_id)
    if unit is None or unit.level != OrgLevel.COMMUNITY or not scope.covers(unit):
        raise NotFound("找不到该社区", detail={"loc": loc})
    return unit


async def person_in(scope: Scope, user_id: int, loc: str) -> User:
    person = await users_repository.user(scope, user_id)
    if person is None or not person.is_active:
        raise NotFound("找不到该人员", detail={"loc": loc})
    return person


async def my_profile(principal: CurrentUser) -> VolunteerProfile:
    profile = await repository.profile_of(principal.id)
    if profile is None:
        raise VolunteerNotFound("您还没有登记为志愿者")
    return profile


async def my_active_profile(principal: CurrentUser) -> VolunteerProfile:
    profile = await repository.profile_of(principal.id)
    if profile is None or profile.status != VolunteerStatus.ACTIVE:
        raise NotAnActiveVolunteer()
    return profile


async def profile_readable(principal: Readers, profile_id: Id) -> VolunteerProfile:
    profile = await repository.profile(readers(principal), profile_id)
    if profile is None:
        raise VolunteerNotFound()
    return profile


async def profile_writable(principal: Admins, profile_id: Id) -> VolunteerProfile:
    profile = await repository.profile(admins(principal), profile_id)
    if profile is None:
        raise VolunteerNotFound()
    return profile


async def team_writable(principal: Admins, team_id: Id) -> VolunteerTeam:
    team = await repository.scoped_teams(admins(principal)).filter(id=team_id).first()
    if team is None:
        raise TeamNotFound()
    return team


async def pairing_writable(principal: Readers, pairing_id: Id) -> Pairing:
    pairing = await repository.scoped_pairings(readers(principal)).filter(id=pairing_id).first()
    if pairing is None:
        raise PairingNotFound()
    return pairing


async def activity_visible(principal: CurrentUser, activity_id: Id) -> Activity:
    scope = (await member_scope(principal)).union(readers(principal))
    activity = await repository.scoped_activities(scope).filter(id=activity_id).first()
    if activity is None:
        raise ActivityNotFound()
    return activity


MyProfile = Annotated[VolunteerProfile, Depends(my_profile)]
MyActiveProfile = Annotated[VolunteerProfile, Depends(my_active_profile)]
ReadableProfile = Annotated[VolunteerProfile, Depends(profile_readable)]
WritableProfile = Annotated[VolunteerProfile, Depends(profile_writable)]
WritableTeam = Annotated[VolunteerTeam, Depends(team_writable)]
WritablePairing = Annotated[Pairing, Depends(pairing_writable)]
VisibleActivity = Annotated[Activity, Depends(activity_visible)]
