"""An append-only audit trail: staff actions on behalf of residents, grants, and every unmasked read of
sensitive personal information (PIPL Art. 28/51; GB/T 35273 §7.2)."""

from __future__ import annotations

from tortoise import fields, models

APP = "core"


class AuditLog(models.Model):
    id = fields.BigIntField(primary_key=True)
    actor_id = fields.BigIntField(null=True, db_index=True)
    on_behalf_of_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=64)  # e.g. "reveal:phone", "grant:add", "org:import"
    object_type = fields.CharField(max_length=32)
    object_id = fields.CharField(max_length=64, null=True)
    detail = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"
        indexes = (("object_type", "object_id"),)
