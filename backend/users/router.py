"""/api/v1/me and /api/v1/users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from backend.auth.dependencies import CurrentUser, Staff
from backend.core import privacy
from backend.core.errors import Forbidden, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from backend.models.user import Role
from backend.org import service as org_service
from backend.org.schemas import MyHouseholdOut
from backend.org.scope import scope_of
from backend.users import repository, service
from backend.users.dependencies import ManageableUser, ReadableUser
from backend.users.exceptions import CannotGrant, GrantExists, PhoneTaken, WrongGrantLevel
from backend.users.schemas import GrantIn, GrantOut, Me, UserCreate, UserOut, UserSensitive, UserUpdate

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/me", response_model=Me)
async def get_me(principal: CurrentUser):
    """当前登录人的资料和全部角色（前端据此显示对应首页、允许切换角色）。"""
    return await service.me(principal.user, principal.grants)


@router.get("/me/household", response_model=MyHouseholdOut, responses=responses(NotFound))
async def get_my_household(principal: CurrentUser):
    """本人登记的住户：楼栋（含位置，GCJ-02）、小区、网格、社区；电话和地址已脱敏。没有登记住户时 404。"""
    household = await org_service.my_household(principal.user)
    if household is None:
        raise NotFound("您还没有登记住户，请联系社区或网格员登记")
    return household


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    principal: Staff,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=32, description="姓名或手机号开头")] = None,
):
    """您管辖范围内的人员（手机号已脱敏）。"""
    rows = await repository.users(
        scope_of(principal, service.USER_READERS), role=role, search=q,
        before_id=decode_cursor(cursor), limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=await service.users_out(rows),
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


@router.post(
    "/users", response_model=UserOut, status_code=201,
    responses=responses(CannotGrant, WrongGrantLevel, PhoneTaken, NotFound),
)
async def create_user(body: UserCreate, principal: Staff):
    """登记人员（如为没有智能手机的老人建档），并授予您有权授予的角色。"""
    return (await service.users_out([await service.create_user(principal, body)]))[0]


@router.get("/users/{user_id}", response_model=UserOut, responses=responses(NotFound))
async def get_user(user: ReadableUser):
    return (await service.users_out([user]))[0]


@router.get("/users/{user_id}/sensitive", response_model=UserSensitive, responses=responses(NotFound, Forbidden))
async def get_user_sensitive(user: ReadableUser, principal: Staff):
    """查看完整手机号（会记录查看日志）。"""
    await privacy.reveal(principal, object_type="user", object_id=user.id, fields=("phone",))
    return UserSensitive(id=user.id, phone=user.phone)


@router.patch("/users/{user_id}", response_model=UserOut, responses=responses(NotFound))
async def update_user(body: UserUpdate, user: ManageableUser, principal: Staff):
    return (await service.users_out([await service.update_user(principal, user, body)]))[0]


@router.post(
    "/users/{user_id}/grants", response_model=GrantOut, status_code=201,
    responses=responses(CannotGrant, WrongGrantLevel, GrantExists, NotFound),
)
async def add_grant(body: GrantIn, user: ManageableUser, principal: Staff):
    return await service.grant_out(await service.add_grant(principal, user, body))


@router.delete(
    "/users/{user_id}/grants/{grant_id}", status_code=204, response_class=Response,
    responses=responses(NotFound, CannotGrant),
)
async def remove_grant(
    user: ManageableUser, principal: Staff, grant_id: Annotated[int, Path(gt=0, le=2**62)]
) -> Response:
    await service.remove_grant(principal, user, grant_id)
    return Response(status_code=204)
