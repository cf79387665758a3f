"""Creating accounts without a signed-in principal: the first admin from the command line, demo data."""

from __future__ import annotations

from backend.core import audit, security
from backend.core.db import atomic
from backend.core.errors import BadRequest
from backend.models.org import Department, OrgUnit
from backend.models.user import RoleGrant, User
from backend.users import repository
from backend.users.exceptions import PhoneTaken
from backend.users.schemas import UserCreate


async def create_user(body: UserCreate) -> User:
    """Create a user with the given grants, as the system (checked only for existence of units)."""
    if body.phone and await repository.phone_taken(body.phone):
        raise PhoneTaken()
    for grant in body.grants:
        if grant.org_unit_id and not await OrgUnit.exists(id=grant.org_unit_id):
            raise BadRequest(f"单位 {grant.org_unit_id} 不存在")
        if grant.department_id and not await Department.exists(id=grant.department_id):
            raise BadRequest(f"部门 {grant.department_id} 不存在")
    async with atomic():
        user = await User.create(
            name=body.name, phone=body.phone, household_id=body.household_id,
            password_hash=security.hash_password(body.password) if body.password else None,
        )
        for grant in body.grants:
            await RoleGrant.create(
                user=user, role=grant.role, org_unit_id=grant.org_unit_id, department_id=grant.department_id
            )
        await audit.record("user:create", actor_id=None, object_type="user", object_id=user.id, detail={"via": "cli"})
    return user
