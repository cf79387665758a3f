"""Queries of the auth domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.expressions import F

from backend.auth.principal import DepartmentRef, Grant, UnitRef
from backend.core import sql
from backend.models.auth import AuthSession, RefreshToken
from backend.models.user import Role, User, WechatAccount


# Authentication runs on every request: one hand-written query (backend/core/sql.py explains why) returns the
# session's user once per grant (LEFT JOIN: a user without grants still comes back, once).
_GRANT_SELECT = (
    "g.id AS g_id, g.role AS g_role, g.org_unit_id AS g_unit, g.department_id AS g_department,"
    " o.level AS o_level, o.name AS o_name, o.street_id AS o_street, o.community_id AS o_community,"
    " o.grid_id AS o_grid, o.compound_id AS o_compound, o.building_id AS o_building,"
    " d.name AS d_name, d.street_id AS d_street"
)
_GRANT_JOINS = (
    " LEFT JOIN role_grant g ON g.user_id = u.id"
    " LEFT JOIN org_unit o ON o.id = g.org_unit_id"
    " LEFT JOIN department d ON d.id = g.department_id"
)
_PRINCIPAL = (
    f"SELECT u.*, {_GRANT_SELECT} FROM auth_session s JOIN app_user u ON u.id = s.user_id{_GRANT_JOINS}"
    " WHERE s.id = $1 AND s.revoked_at IS NULL ORDER BY g.id"
)
_USER_GRANTS = f"SELECT {_GRANT_SELECT} FROM app_user u{_GRANT_JOINS} WHERE u.id = $1 ORDER BY g.id"
_GRANT_COLUMNS = ("g_id", "g_role", "g_unit", "g_department", "o_level", "o_name", "o_street", "o_community",
                  "o_grid", "o_compound", "o_building", "d_name", "d_street")


def _grant(r: dict) -> Grant:
    return Grant(
        id=r["g_id"],
        role=Role(r["g_role"]),
        org_unit_id=r["g_unit"],
        department_id=r["g_department"],
        org_unit=UnitRef(
            id=r["g_unit"], level=r["o_level"], name=r["o_name"], street_id=r["o_street"],
            community_id=r["o_community"], grid_id=r["o_grid"], compound_id=r["o_compound"],
            building_id=r["o_building"],
        ) if r["g_unit"] is not None else None,
        department=DepartmentRef(id=r["g_department"], name=r["d_name"], street_id=r["d_street"])
        if r["g_department"] is not None else None,
    )


async def principal_of_session(session_id: uuid.UUID) -> tuple[User, list[Grant]] | None:
    """The user of a live (not revoked) session and their role grants, in one query."""
    rows = await sql.fetch(_PRINCIPAL, str(session_id) if sql.is_sqlite() else session_id)
    if not rows:
        return None
    user_row = {k: v for k, v in rows[0].items() if k not in _GRANT_COLUMNS}
    return User._init_from_db(**user_row), [_grant(r) for r in rows if r["g_id"] is not None]


async def grants_of_user(user_id: int) -> list[Grant]:
    return [_grant(r) for r in await sql.fetch(_USER_GRANTS, user_id) if r["g_id"] is not None]


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
