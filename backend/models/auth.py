"""Login sessions and their refresh tokens.

A session is one refresh-token family. Tokens are stored only as SHA-256 hashes; each is used once (``used_at``
is set by a conditional UPDATE, so two concurrent refreshes cannot both win) and presenting a used one revokes
the whole session, because only a thief would replay it.
"""

from __future__ import annotations

from tortoise import fields, models

APP = "core"

from backend.models.user import User


class AuthSession(models.Model):
    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="sessions", on_delete=fields.CASCADE
    )
    method = fields.CharField(max_length=16)  # wechat | password | dev
    user_agent = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "auth_session"


class RefreshToken(models.Model):
    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "core.AuthSession", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_token"
