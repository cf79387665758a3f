"""Volunteers: real-name profiles with a place on the map, teams, 双报到, 帮扶对子 pairings and activities.

Invariants: one profile per person and per ID number (a keyed hash, unique), the ID number itself only
encrypted (AES-GCM, see backend/core/crypto.py) and otherwise masked. ``active_tasks`` never exceeds
``max_active`` and an activity's ``signed_up`` never exceeds its ``capacity`` (CHECK, moved by conditional
UPDATEs only). A resident has at most one active pairing (``active_key`` is the resident id while active, NULL
after: a unique column).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

from backend.models.org import ScopedColumns

APP = "delivery"

ALWAYS = "1" * 168  # weekly availability: one character per hour, Monday 00:00 first (Asia/Shanghai)


class VolunteerStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for community staff to check the real name
    ACTIVE = "active"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return {"pending": "待审核", "active": "在册", "suspended": "已暂停"}[self.value]


class SignupStatus(StrEnum):
    SIGNED_UP = "signed_up"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


class VolunteerProfile(models.Model, ScopedColumns):
    """A registered volunteer: real name, encrypted ID number, skills, service area (a point, its geohash cell
    and a radius) and weekly availability, with the count of tasks they hold now."""

    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation = fields.OneToOneField(
        "core.User", related_name="volunteer_profile", on_delete=fields.CASCADE
    )
    real_name = fields.CharField(max_length=32)
    id_number_enc = fields.CharField(max_length=200)
    id_number_hash = fields.CharField(max_length=64, unique=True)
    id_number_masked = fields.CharField(max_length=24)
    status = fields.CharEnumField(VolunteerStatus, max_length=16, default=VolunteerStatus.PENDING)
    skills = fields.JSONField(default=list)
    lat = fields.FloatField()
    lng = fields.FloatField()
    cell = fields.CharField(max_length=12)  # geohash of (lat, lng), 6 characters (≈ 1.0 × 0.6 km)
    fine_cell = fields.CharField(max_length=12)  # 7 characters (≈ 125 × 150 m), for dense city centres
    service_radius_m = fields.IntField(default=3000, db_default=3000)
    availability = fields.CharField(max_length=168, default=ALWAYS, db_default=ALWAYS)
    max_active = fields.IntField(default=3, db_default=3)
    active_tasks = fields.IntField(default=0, db_default=0)
    completed_tasks = fields.IntField(default=0, db_default=0)
    is_party_member = fields.BooleanField(default=False, db_default=False)
    is_veteran = fields.BooleanField(default=False, db_default=False)
    registered_by_id = fields.BigIntField(null=True)
    approved_by_id = fields.BigIntField(null=True)
    approved_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "volunteer_profile"
        indexes = (("cell", "status"), ("fine_cell", "status"))
        constraints = (
            CheckConstraint(
                check="active_tasks >= 0 AND active_tasks <= max_active", name="volunteer_load_bounded"
            ),
            CheckConstraint(check="max_active >= 1", name="volunteer_max_active_positive"),
            CheckConstraint(check="service_radius_m > 0", name="volunteer_radius_positive"),
        )


class VolunteerTeam(models.Model, ScopedColumns):
    """A team (退役军人志愿服务队, 红色物业队…) of one community."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32, null=True)
    leader_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "volunteer_team"
        unique_together = (("community_id", "name"),)


class TeamMember(models.Model):
    id = fields.BigIntField(primary_key=True)
    team: fields.ForeignKeyRelation[VolunteerTeam] = fields.ForeignKeyField(
        "delivery.VolunteerTeam", related_name="members", on_delete=fields.CASCADE, db_index=False
    )
    volunteer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="volunteer_teams", on_delete=fields.CASCADE
    )
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "volunteer_team_member"
        unique_together = (("team_id", "volunteer_id"),)


class DualRegistration(models.Model, ScopedColumns):
    """双报到: an in-service party member reports to the community where they live."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="dual_registrations", on_delete=fields.CASCADE, db_index=False
    )
    work_unit = fields.CharField(max_length=64)
    party_org = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "volunteer_dual_registration"
        unique_together = (("user_id", "community_id"),)


class Pairing(models.Model, ScopedColumns):
    """帮扶对子: a standing pairing of a volunteer with a resident in need (placed at the resident's home)."""

    id = fields.BigIntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="pairings_as_volunteer", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="pairings_as_resident", on_delete=fields.CASCADE
    )
    active_key = fields.BigIntField(null=True, unique=True)  # = resident_id while active
    note = fields.CharField(max_length=200, null=True)
    created_by_id = fields.BigIntField()
    started_at = fields.DatetimeField(auto_now_add=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "volunteer_pairing"
        constraints = (
            CheckConstraint(
                check="active_key IS NULL OR active_key = resident_id", name="pairing_active_key"
            ),
            CheckConstraint(check="volunteer_id <> resident_id", name="pairing_two_people"),
        )


class Activity(models.Model, ScopedColumns):
    """A volunteer activity with a capacity. ``signed_up`` moves only by conditional UPDATE."""

    id = fields.BigIntField(primary_key=True)
    title = fields.CharField(max_length=64)
    description = fields.CharField(max_length=1000, null=True)
    place = fields.CharField(max_length=100, null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    geofence_m = fields.IntField(default=500, db_default=500)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.IntField()
    signed_up = fields.IntField(default=0, db_default=0)
    credit_minutes = fields.IntField()
    is_cancelled = fields.BooleanField(default=False, db_default=False)
    created_by_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "volunteer_activity"
        constraints = (
            CheckConstraint(check="capacity > 0", name="activity_capacity_positive"),
            CheckConstraint(
                check="signed_up >= 0 AND signed_up <= capacity", name="activity_within_capacity"
            ),
            CheckConstraint(check="credit_minutes > 0", name="activity_credit_positive"),
        )


class ActivitySignup(models.Model):
    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "delivery.Activity", related_name="signups", on_delete=fields.CASCADE, db_index=False
    )
    volunteer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="activity_signups", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(SignupStatus, max_length=16, default=SignupStatus.SIGNED_UP)
    check_in_at = fields.DatetimeField(null=True)
    check_in_lat = fields.FloatField(null=True)
    check_in_lng = fields.FloatField(null=True)
    check_out_at = fields.DatetimeField(null=True)
    check_out_lat = fields.FloatField(null=True)
    check_out_lng = fields.FloatField(null=True)
    transfer_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "volunteer_activity_signup"
        unique_together = (("activity_id", "volunteer_id"),)
