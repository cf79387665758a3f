"""Logging in and out: WeChat, phone + password, the development login, token rotation and phone binding."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from backend.auth import principals, repository
from backend.auth.exceptions import AccountDisabled, AccountLocked, PhoneBoundElsewhere, RefreshTokenReused
from backend.auth.principal import Principal
from backend.auth.schemas import DevAccount, TokenPair
from backend.config import Settings
from backend.core import audit, security
from backend.core.db import atomic
from backend.core.errors import InvalidCredentials, InvalidToken, NotFound
from backend.core.timeutil import utcnow
from backend.models.auth import AuthSession, RefreshToken
from backend.models.user import Role, User, WechatAccount
from backend.users.merge import run_merge_hooks
from backend.wechat.client import WechatClient
from backend.wechat.exceptions import PhoneCodeInvalid, WechatError, to_app_error

NEW_WECHAT_USER_NAME = "微信用户"


async def _issue_pair(settings: Settings, user_id: int, session_id: uuid.UUID) -> TokenPair:
    refresh = security.issue_refresh(settings, user_id=user_id, session_id=session_id)
    await RefreshToken.create(
        session_id=session_id,
        token_hash=security.token_hash(refresh),
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return TokenPair(
        access_token=security.issue_access(settings, user_id=user_id, session_id=session_id),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )


async def start_session(settings: Settings, user: User, *, method: str, user_agent: str | None) -> TokenPair:
    """Open a new session (refresh-token family) for ``user`` and hand out its first token pair."""
    if not user.is_active:
        raise AccountDisabled()
    async with atomic():
        session = await AuthSession.create(
            id=uuid.uuid4(), user=user, method=method, user_agent=(user_agent or "")[:200] or None
        )
        pair = await _issue_pair(settings, user.id, session.id)
        await repository.login_succeeded(user.id, utcnow())
    return pair


async def login_password(
    settings: Settings, *, phone: str, password: str, user_agent: str | None
) -> TokenPair:
    user = await repository.user_by_phone(phone)
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        retry_after = int((user.locked_until - now).total_seconds()) + 1
        raise AccountLocked(detail={"retry_after_seconds": retry_after})
    if not security.verify_password(password, user.password_hash if user else None):
        if user is not None:
            failures = await repository.count_failure(user.id)
            if failures >= settings.login_max_failures:
                until = now + timedelta(seconds=settings.login_lockout_seconds)
                await repository.lock_if_over(user.id, settings.login_max_failures, until)
                raise AccountLocked(detail={"retry_after_seconds": settings.login_lockout_seconds})
        raise InvalidCredentials()
    assert user is not None
    return await start_session(settings, user, method="password", user_agent=user_agent)


async def login_wechat(
    settings: Settings, wechat: WechatClient, *, code: str, user_agent: str | None
) -> tuple[TokenPair, bool]:
    """Exchange a ``wx.login`` code for tokens; a first-time openid gets a new user with no roles yet."""
    try:
        session = await wechat.code2session(code)
    except WechatError as exc:
        raise to_app_error(exc) from exc
    account = await repository.wechat_account(session.openid)
    is_new = account is None
    if account is None:
        try:
            async with atomic():
                user = await User.create(name=NEW_WECHAT_USER_NAME)
                account = await WechatAccount.create(
                    user=user,
                    appid=settings.wechat_appid,
                    openid=session.openid,
                    unionid=session.unionid,
                    session_key=session.session_key,
                )
        except IntegrityError:  # the same person's second tap won the race: use that account
            account = await repository.wechat_account(session.openid)
            if account is None:
                raise
            is_new = False
        else:
            account = await repository.wechat_account(session.openid)
            assert account is not None
    if not is_new:
        await WechatAccount.filter(id=account.id).update(
            session_key=session.session_key, unionid=session.unionid or account.unionid, updated_at=utcnow()
        )
    pair = await start_session(settings, account.user, method="wechat", user_agent=user_agent)
    return pair, is_new


async def refresh(settings: Settings, token: str) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued. A spent token ends the whole session."""
    claims = security.decode(settings, token, typ=security.REFRESH)
    row = await repository.refresh_token(security.token_hash(token))
    if row is None or row.session_id != claims.session_id:
        raise InvalidToken(detail={"reason": "unknown_refresh"})
    session = row.session
    if session.revoked_at is not None:
        raise InvalidToken(detail={"reason": "session_ended"})
    if not session.user.is_active:
        raise AccountDisabled()
    now = utcnow()
    async with atomic():
        won = await repository.mark_refresh_used(row.id, now)
        if won:
            pair = await _issue_pair(settings, session.user_id, session.id)
            await AuthSession.filter(id=session.id).update(last_used_at=now)
    if not won:
        await repository.revoke_session(session.id, now, "refresh_reuse")
        principals.forget_session(session.id)
        raise RefreshTokenReused()
    return pair


async def logout(settings: Settings, token: str) -> None:
    """End the session the refresh token belongs to (and with it every access token of that session)."""
    claims = security.decode(settings, token, typ=security.REFRESH)
    row = await repository.refresh_token(security.token_hash(token))
    if row is None or row.session_id != claims.session_id:
        raise InvalidToken(detail={"reason": "unknown_refresh"})
    await repository.revoke_session(row.session_id, utcnow(), "logout")
    principals.forget_session(row.session_id)


async def bind_phone(
    settings: Settings, wechat: WechatClient, principal: Principal, *, code: str, user_agent: str | None
) -> tuple[User, TokenPair | None]:
    """Verify the phone through WeChat and attach it. When staff pre-registered that phone (an elderly resident
    they signed up), the WeChat identity moves to that user and new tokens for it are returned."""
    try:
        info = await wechat.phone_number(code)
    except WechatError as exc:
        if exc.errcode in (40029, 40163, 40013):
            raise PhoneCodeInvalid(detail={"errcode": exc.errcode}) from exc
        raise to_app_error(exc) from exc
    phone = info.pure_phone
    user = principal.user
    existing = await repository.user_by_phone(phone)
    if existing is None or existing.id == user.id:
        await User.filter(id=user.id).update(phone=phone, updated_at=utcnow())
        principals.forget_user(user.id)
        await user.refresh_from_db()
        return user, None
    if await WechatAccount.exists(user_id=existing.id):
        raise PhoneBoundElsewhere()
    now = utcnow()
    async with atomic():
        await WechatAccount.filter(user_id=user.id).update(user_id=existing.id, updated_at=now)
        await User.filter(id=user.id).update(is_active=False, updated_at=now)
        await repository.revoke_user_sessions(user.id, now, "merged")
        principals.forget_user(user.id)
        await audit.record(
            "user:merge", actor_id=user.id, object_type="user", object_id=existing.id,
            detail={"from_user_id": user.id, "to_user_id": existing.id, "via": "wechat_phone"},
        )
        await run_merge_hooks(user.id, existing.id)  # domains move what the placeholder created
    pair = await start_session(settings, existing, method="wechat", user_agent=user_agent)
    return existing, pair


def _account_label(user: User) -> str:
    parts = []
    for grant in user.grants:
        place = grant.org_unit.name if grant.org_unit_id else (grant.department.name if grant.department_id else "")
        parts.append(f"{Role(grant.role).label}{' · ' + place if place else ''}")
    return "；".join(parts) or "（无角色）"


async def dev_accounts() -> list[DevAccount]:
    users = await repository.demo_users()
    return [
        DevAccount(
            user_id=u.id, name=u.name, roles=sorted({Role(g.role) for g in u.grants}), label=_account_label(u)
        )
        for u in users
    ]


async def dev_login(settings: Settings, *, user_id: int, user_agent: str | None) -> TokenPair:
    user = await User.get_or_none(id=user_id, is_demo=True)
    if user is None:
        raise NotFound("没有这个演示账号")
    return await start_session(settings, user, method="dev", user_agent=user_agent)
