"""Authentication and role dependencies: ``CurrentUser``, ``GridWorker``, ``CommunityStaff``, ``StreetStaff``,
``Admin`` and ``Staff`` (any of the staff roles)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from backend.auth import principals
from backend.auth.exceptions import AccountDisabled
from backend.auth.principal import STAFF_ROLES, Principal
from backend.core import security
from backend.core.errors import Forbidden, InvalidToken, Unauthorized
from backend.models.user import Role
from backend.wechat.client import WechatClient


class BearerPrincipal(HTTPBearer):
    """The caller, from the bearer token: one token check and one query (or none: backend/auth/principals.py).

    A security scheme that resolves the principal itself: FastAPI documents it as HTTP bearer auth in the
    OpenAPI schema, and solves one dependency per request instead of a credentials dependency and a second
    one on top of it."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        header = request.headers.get("authorization")
        if not header:
            raise Unauthorized()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized()
        claims = security.decode(request.app.state.settings, token, typ=security.ACCESS)
        found = await principals.principal_of(claims.session_id)
        if found is None or found[0].id != claims.user_id:
            raise InvalidToken(detail={"reason": "session_ended"})
        user, grants = found
        if not user.is_active:
            raise AccountDisabled()
        principal = Principal(user=user, session_id=claims.session_id, grants=grants)
        request.state.principal = principal
        return principal


get_principal = BearerPrincipal(
    auto_error=False, scheme_name="HTTPBearer", description="登录后获得的 access_token"
)


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets through only holders of at least one of ``roles``."""
    wanted = frozenset(roles)

    async def _check(principal: CurrentUser) -> Principal:
        if not principal.has(*wanted):
            raise Forbidden()
        return principal

    return _check


Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
GridWorker = Annotated[
    Principal,
    Depends(require_roles(Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)),
]
CommunityStaff = Annotated[
    Principal, Depends(require_roles(Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN))
]
StreetStaff = Annotated[Principal, Depends(require_roles(Role.STREET_STAFF, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


async def get_wechat(request: Request) -> WechatClient:
    return WechatClient(request.app.state.settings, request.app.state.http, request.app.state.bus)


WechatDep = Annotated[WechatClient, Depends(get_wechat)]
