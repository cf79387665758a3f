"""All Tortoise models, one module per aggregate (Polar keeps ORM models together so domains never import
each other's routers). Importing this package imports every model module of every app."""

from backend.models.audit import AuditLog
from backend.models.auth import AuthSession, RefreshToken
from backend.models.idempotency import IdempotencyRecord
from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role, RoleGrant, User, WechatAccount

__all__ = [
    "AuditLog",
    "AuthSession",
    "Department",
    "Household",
    "IdempotencyRecord",
    "OrgLevel",
    "OrgUnit",
    "OutboxEvent",
    "OutboxStatus",
    "RefreshToken",
    "Role",
    "RoleGrant",
    "User",
    "WechatAccount",
]
