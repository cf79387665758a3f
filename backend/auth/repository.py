"""Queries of the auth domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.expressions import F

from backend.models.auth import AuthSession, RefreshToken
from backend.models.user import RoleGrant, User, WechatAccount


async def live_session(session_id: uuid.UUID) -> AuthSession | None:
    return await AuthSession.filter(id=session_id, revoked_at=None).select_related("user").first()


async def grants_of(user_id: int) -> list[RoleGrant]:
    return await RoleGrant.filter(user_id=user_id).select_related("org_unit", "department").order_by("id")


async def user_by_phone(phone: str) -> User | None:
    return await User.get_or_none(phone=phone)


async def wechat_account(openid: str) -> WechatAccount | None:
    return await WechatAccount.get_or_none(openid=openid).select_related("user")


async def refresh_token(token_hash: str) -> RefreshToken | None:
    return await RefreshToken.get_or_none(token_hash=token_hash).select_related("session", "session__user")


async def mark_refresh_used(token_id: int, now: datetime) -> bool:
    """Spend a refresh token; exactly one of several concurrent callers gets True."""
    return await RefreshToken.filter(id=token_id, used_at=None).update(used_at=now) == 1


async def revoke_session(session_id: uuid.UUID, now: datetime, reason: str) -> None:
    await AuthSession.filter(id=session_id, revoked_at=None).update(revoked_at=now, revoked_reason=reason)


async def revoke_user_sessions(user_id: int, now: datetime, reason: str) -> None:
    await AuthSession.filter(user_id=user_id, revoked_at=None).update(revoked_at=now, revoked_reason=reason)


async def count_failure(user_id: int) -> int:
    await User.filter(id=user_id).update(failed_logins=F("failed_logins") + 1)
    counts = await User.filter(id=user_id).values_list("failed_logins", flat=True)
    return counts[0] if counts else 0


async def lock_if_over(user_id: int, threshold: int, until: datetime) -> None:
    await User.filter(id=user_id, failed_logins__gte=threshold).update(locked_until=until, failed_logins=0)


async def login_succeeded(user_id: int, now: datetime) -> None:
    await User.filter(id=user_id).update(failed_logins=0, locked_until=None, last_login_at=now)


async def demo_users(limit: int = 60) -> list[User]:
    return await User.filter(is_demo=True, is_active=True).prefetch_related(
        "grants__org_unit", "grants__department"
    ).order_by("id").limit(limit)
