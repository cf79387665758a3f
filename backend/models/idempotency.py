"""Stored answers to POSTs that carried an ``Idempotency-Key``: the same key and body replay the answer.

Unique on (owner, key) so two concurrent first attempts cannot both run; a row stays ``in_flight`` (with a lock
deadline) while the first attempt runs.
"""

from __future__ import annotations

from tortoise import fields, models

APP = "core"


class IdempotencyRecord(models.Model):
    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=64)  # "user:<id>" or "anon:<client ip>"
    key = fields.CharField(max_length=128)
    method = fields.CharField(max_length=8)
    path = fields.CharField(max_length=300)
    request_hash = fields.CharField(max_length=64)
    in_flight = fields.BooleanField(default=True)
    locked_until = fields.DatetimeField()
    status_code = fields.IntField(null=True)
    response_body = fields.BinaryField(null=True)
    content_type = fields.CharField(max_length=100, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("owner", "key"),)
