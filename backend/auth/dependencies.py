"""Authentication and role dependencies: ``CurrentUser``, ``GridWorker``, ``CommunityStaff``, ``StreetStaff``,
``Admin`` and ``Staff`` (any of the staff roles)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth import repository
from backend.auth.exceptions import AccountDisabled
from backend.auth.principal import STAFF_ROLES, Principal
from backend.core import security
from backend.core.deps import SettingsDep, get_app_bus, get_app_settings, get_http
from backend.core.errors import Forbidden, InvalidToken, Unauthorized
from backend.models.user import Role
from backend.wechat.client import WechatClient

_bearer = HTTPBearer(auto_error=False, description="登录后获得的 access_token")


async def get_principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized()
    claims = security.decode(settings, credentials.credentials, typ=security.ACCESS)
    session = await repository.live_session(claims.session_id)
    if session is None or session.user_id != claims.user_id:
        raise InvalidToken(detail={"reason": "session_ended"})
    if not session.user.is_active:
        raise AccountDisabled()
    principal = Principal(
        user=session.user, session_id=session.id, grants=await repository.grants_of(session.user_id)
    )
    request.state.principal = principal
    return principal


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


def get_wechat(request: Request) -> WechatClient:
    return WechatClient(get_app_settings(request), get_http(request), get_app_bus(request))


WechatDep = Annotated[WechatClient, Depends(get_wechat)]
