"""Queries of the users domain. A user lies in a scope through their household or their grants."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from backend.models.org import Department, Household, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import Scope


def scoped_users(scope: Scope) -> QuerySet[User]:
    if scope.everything:
        return User.all()
    households = scope.filter(Household.all()).values("id")
    units = scope.filter(OrgUnit.all()).values("id")
    departments = Department.filter(scope.department_q()).values("id")
    granted = RoleGrant.filter(
        Q(org_unit_id__in=Subquery(units)) | Q(department_id__in=Subquery(departments))
    ).values("user_id")
    return User.filter(Q(household_id__in=Subquery(households)) | Q(id__in=Subquery(granted)))


async def users(
    scope: Scope, *, role: Role | None, search: str | None, before_id: int | None, limit: int
) -> list[User]:
    qs = scoped_users(scope)
    if role is not None:
        qs = qs.filter(id__in=Subquery(RoleGrant.filter(role=role).values("user_id")))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(phone__startswith=search))
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1).prefetch_related(
        "grants__org_unit", "grants__department", "household__building"
    )


async def user(scope: Scope, user_id: int) -> User | None:
    return await scoped_users(scope).filter(id=user_id).prefetch_related(
        "grants__org_unit", "grants__department", "household__building"
    ).first()


async def with_relations(user: User) -> User:
    await user.fetch_related("grants__org_unit", "grants__department", "household__building")
    return user


async def grant_exists(user_id: int, role: Role, org_unit_id: int | None, department_id: int | None) -> bool:
    return await RoleGrant.exists(user_id=user_id, role=role, org_unit_id=org_unit_id, department_id=department_id)


async def phone_taken(phone: str) -> bool:
    return await User.exists(phone=phone)


