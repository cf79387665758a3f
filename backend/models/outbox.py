"""The transactional outbox: side effects written in the same transaction as the change that causes them.

Workers claim due rows with a lease (``locked_until``); a row whose worker died is claimed again once the lease
runs out, so handlers run at least once and must be idempotent. ``dedupe_key`` makes scheduled jobs and
re-enqueued events unique. Failures back off exponentially and end in ``dead`` with the last error kept.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models

APP = "core"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class OutboxEvent(models.Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    run_at = fields.DatetimeField()
    attempts = fields.IntField(default=0, db_default=0)
    max_attempts = fields.IntField(default=8, db_default=8)
    locked_by = fields.CharField(max_length=64, null=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_event"
        indexes = (("status", "run_at"),)
