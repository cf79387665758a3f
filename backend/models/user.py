"""People and what they may do.

A person is one ``User`` whatever their roles; what they may see and do comes only from ``RoleGrant`` rows, each
scoped to an org unit (or, for department staff, a department). Residents belong to a household.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models

APP = "core"

from backend.models.org import Department, Household, OrgUnit


class Role(StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    PARTY_MEMBER = "party_member"
    BUILDING_HEAD = "building_head"
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    COMMUNITY_STAFF = "community_staff"
    STREET_STAFF = "street_staff"
    DEPARTMENT_STAFF = "department_staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.RESIDENT: "居民",
    Role.VOLUNTEER: "志愿者",
    Role.PARTY_MEMBER: "党员",
    Role.BUILDING_HEAD: "楼院长",
    Role.GRID_WORKER: "网格员",
    Role.GRID_LEADER: "网格长",
    Role.COMMUNITY_STAFF: "社区工作人员",
    Role.STREET_STAFF: "街道工作人员",
    Role.DEPARTMENT_STAFF: "部门工作人员",
    Role.ADMIN: "管理员",
}


class User(models.Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20, null=True, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "core.Household", related_name="residents", null=True, on_delete=fields.SET_NULL
    )
    is_active = fields.BooleanField(default=True, db_default=True)
    is_demo = fields.BooleanField(default=False, db_default=False)
    failed_logins = fields.IntField(default=0, db_default=0)
    locked_until = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    grants: fields.ReverseRelation[RoleGrant]

    class Meta:
        table = "app_user"


class RoleGrant(models.Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="grants", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=24)
    org_unit: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "core.OrgUnit", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "core.Department", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    granted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="grants_given", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grant"
        unique_together = (("user_id", "role", "org_unit_id", "department_id"),)
        # who holds a role in a unit: every report submission and escalation asks (notifications.recipients)
        indexes = (("org_unit_id", "role"),)


class WechatAccount(models.Model):
    """The WeChat identity of a user. ``session_key`` stays here: it is never sent to any client."""

    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "core.User", related_name="wechat", on_delete=fields.CASCADE
    )
    appid = fields.CharField(max_length=64)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    session_key = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "wechat_account"
