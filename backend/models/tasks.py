"""服务快递站: delivery and help tasks, the offers that match them to volunteers, and their history.

Invariants: a task is held by at most one volunteer (the claim is one conditional UPDATE on the task row, and
an assignment per task and round is unique). A volunteer sees and accepts only tasks offered to them
(``TaskOffer``). Every state change writes a ``TaskEvent`` in the same transaction. Hours are credited once
per task (the ledger's idempotency key ``earn_service:task:<id>:<volunteer>``), and only from a confirmed
completion.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

from backend.models.org import ScopedColumns

APP = "delivery"


class TaskKind(StrEnum):
    DELIVERY = "delivery"  # deliver an 爱心超市 order
    HELP = "help"  # 代购, 送餐, 陪诊, 清理垃圾, 上门探望…


class TaskStatus(StrEnum):
    OFFERED = "offered"  # being matched: offers out in waves
    ACCEPTED = "accepted"
    PICKED_UP = "picked_up"  # the store handed the goods over
    DELIVERED = "delivered"  # the volunteer says it is done
    CONFIRMED = "confirmed"  # the resident (or grid worker, family) confirmed: hours credited
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return TASK_STATUS_LABELS[self]


TASK_STATUS_LABELS = {
    TaskStatus.OFFERED: "待接单",
    TaskStatus.ACCEPTED: "已接单",
    TaskStatus.PICKED_UP: "已取货",
    TaskStatus.DELIVERED: "已送达",
    TaskStatus.CONFIRMED: "已确认",
    TaskStatus.CANCELLED: "已取消",
}


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # someone else took it, or it was cancelled
    DROPPED = "dropped"  # accepted, then given back: not offered to this volunteer again


class AssignmentStatus(StrEnum):
    ACTIVE = "active"
    DROPPED = "dropped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HelpKind(models.Model, ScopedColumns):
    """A kind of help a community offers (its list, configured by staff). Without rows, the defaults apply."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=24)
    name = fields.CharField(max_length=32)
    skill = fields.CharField(max_length=24, null=True)  # volunteers with this skill rank first
    sort_order = fields.IntField(default=0, db_default=0)
    is_active = fields.BooleanField(default=True, db_default=True)

    class Meta:
        table = "task_help_kind"
        unique_together = (("community_id", "code"),)


class Task(models.Model, ScopedColumns):
    """A delivery or help task, placed where the resident lives (ancestor ids) and matched from ``origin``."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(TaskKind, max_length=16)
    help_kind = fields.CharField(max_length=24, null=True)
    title = fields.CharField(max_length=64)
    note = fields.CharField(max_length=500, null=True)
    order_id = fields.BigIntField(null=True, unique=True)
    store_id = fields.BigIntField(null=True)
    requester: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "core.User", related_name="requested_tasks", null=True, on_delete=fields.RESTRICT
    )
    household_id = fields.BigIntField(null=True)
    created_by_id = fields.BigIntField()
    origin_lat = fields.FloatField()
    origin_lng = fields.FloatField()
    dest_lat = fields.FloatField(null=True)
    dest_lng = fields.FloatField(null=True)
    distance_m = fields.IntField(null=True)  # store → home, for deliveries (what the ledger rule counts)
    required_skill = fields.CharField(max_length=24, null=True)
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.OFFERED)
    volunteer: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "core.User", related_name="held_tasks", null=True, on_delete=fields.RESTRICT
    )
    round = fields.IntField(default=0, db_default=0)  # +1 each time the task goes back to matching
    wave = fields.IntField(default=0, db_default=0)
    wave_seconds = fields.IntField(default=180, db_default=180)
    escalated_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    picked_up_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    delivered_lat = fields.FloatField(null=True)
    delivered_lng = fields.FloatField(null=True)
    photo_media_id = fields.BigIntField(null=True)
    delivery_note = fields.CharField(max_length=200, null=True)
    confirmed_at = fields.DatetimeField(null=True)
    confirmed_by_id = fields.BigIntField(null=True)
    credited_transfer_id = fields.BigIntField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    batch_key = fields.CharField(max_length=36, null=True, db_index=True)  # tasks raised together
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "task"
        indexes = (("status", "due_at"), ("requester_id", "id"))
        constraints = (
            CheckConstraint(check="status <> 'offered' OR volunteer_id IS NULL", name="task_offered_unheld"),
            CheckConstraint(
                check="status IN ('offered', 'cancelled') OR volunteer_id IS NOT NULL",
                name="task_in_progress_held",
            ),
        )


class TaskOffer(models.Model):
    """A task offered to one volunteer in one round of matching (what they may see and accept)."""

    id = fields.BigIntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "delivery.Task", related_name="offers", on_delete=fields.CASCADE, db_index=False
    )
    volunteer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="task_offers", on_delete=fields.CASCADE, db_index=False
    )
    round = fields.IntField()
    wave = fields.IntField()
    distance_m = fields.IntField()
    status = fields.CharEnumField(OfferStatus, max_length=16, default=OfferStatus.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "task_offer"
        unique_together = (("task_id", "round", "volunteer_id"),)
        indexes = (("volunteer_id", "status"),)


class TaskAssignment(models.Model):
    """Who held the task in each round: one row per acceptance (unique per task and round)."""

    id = fields.BigIntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "delivery.Task", related_name="assignments", on_delete=fields.CASCADE, db_index=False
    )
    volunteer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.User", related_name="task_assignments", on_delete=fields.RESTRICT
    )
    round = fields.IntField()
    status = fields.CharEnumField(AssignmentStatus, max_length=16, default=AssignmentStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "task_assignment"
        unique_together = (("task_id", "round"),)


class TaskEvent(models.Model):
    """History of a task: every transition (who, from, to, when, why, where) and matching waves."""

    id = fields.BigIntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "delivery.Task", related_name="events", on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=24)
    from_status = fields.CharEnumField(TaskStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(TaskStatus, max_length=16)
    actor_id = fields.BigIntField(null=True)
    on_behalf_of_id = fields.BigIntField(null=True)
    volunteer_id = fields.BigIntField(null=True)
    reason = fields.CharField(max_length=200, null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "task_event"
