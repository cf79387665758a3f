"""/api/v1/auth: WeChat login, staff login, token refresh, logout, phone binding and the development login."""

from __future__ import annotations

from fastapi import APIRouter, Header, Response

from backend.auth import service
from backend.auth.dependencies import CurrentUser, WechatDep
from backend.auth.exceptions import AccountDisabled, AccountLocked, PhoneBoundElsewhere, RefreshTokenReused
from backend.auth.schemas import (
    DevAccounts,
    DevLoginIn,
    PasswordLoginIn,
    PhoneBindIn,
    RefreshIn,
    TokenPair,
    WechatLoginIn,
    WechatTokenPair,
)
from backend.core.deps import SettingsDep
from backend.core.errors import InvalidCredentials, InvalidToken, NotFound, responses
from backend.users import service as user_service
from backend.users.schemas import PhoneBound
from backend.wechat.exceptions import (
    PhoneCodeInvalid,
    PhoneNotVerified,
    WechatBusy,
    WechatCodeInvalid,
    WechatFailed,
    WechatNotConfigured,
    WechatRateLimited,
    WechatRiskyUser,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
dev_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

UserAgent = Header(default=None, alias="User-Agent", include_in_schema=False)


@router.post(
    "/wechat",
    response_model=WechatTokenPair,
    responses=responses(
        WechatCodeInvalid, WechatRateLimited, WechatRiskyUser, WechatBusy, WechatFailed, WechatNotConfigured
    ),
)
async def login_wechat(body: WechatLoginIn, settings: SettingsDep, wechat: WechatDep, user_agent: str | None = UserAgent):
    """小程序登录：用 wx.login 的 code 换取登录凭证（session_key 只留在服务器）。"""
    pair, is_new = await service.login_wechat(settings, wechat, code=body.code, user_agent=user_agent)
    return WechatTokenPair(**pair.model_dump(), is_new_user=is_new)


@router.post("/login", response_model=TokenPair, responses=responses(InvalidCredentials, AccountLocked, AccountDisabled))
async def login_password(body: PasswordLoginIn, settings: SettingsDep, user_agent: str | None = UserAgent):
    """工作人员用手机号和密码登录；连续输错会临时锁定。"""
    return await service.login_password(settings, phone=body.phone, password=body.password, user_agent=user_agent)


@router.post("/refresh", response_model=TokenPair, responses=responses(InvalidToken, RefreshTokenReused))
async def refresh(body: RefreshIn, settings: SettingsDep):
    """用 refresh_token 换一对新凭证；旧的立即作废，重复使用会退出该设备的登录。"""
    return await service.refresh(settings, body.refresh_token)


@router.post("/logout", status_code=204, response_class=Response, responses=responses(InvalidToken))
async def logout(body: RefreshIn, settings: SettingsDep) -> Response:
    """退出登录：该设备的所有凭证立即失效。"""
    await service.logout(settings, body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/wechat/phone",
    response_model=PhoneBound,
    responses=responses(PhoneCodeInvalid, PhoneNotVerified, PhoneBoundElsewhere, WechatBusy),
)
async def bind_phone(
    body: PhoneBindIn, principal: CurrentUser, settings: SettingsDep, wechat: WechatDep,
    user_agent: str | None = UserAgent,
):
    """绑定微信手机号；若社区已为该手机号登记过账号，则并入该账号并返回新凭证。"""
    user, tokens = await service.bind_phone(settings, wechat, principal, code=body.code, user_agent=user_agent)
    return PhoneBound(me=await user_service.me(user), tokens=tokens)


@dev_router.get("/dev-login", response_model=DevAccounts)
async def dev_accounts():
    """（仅开发环境）列出演示账号。"""
    return DevAccounts(accounts=await service.dev_accounts())


@dev_router.post("/dev-login", response_model=TokenPair, responses=responses(NotFound))
async def dev_login(body: DevLoginIn, settings: SettingsDep, user_agent: str | None = UserAgent):
    """（仅开发环境）以演示账号登录。"""
    return await service.dev_login(settings, user_id=body.user_id, user_agent=user_agent)
