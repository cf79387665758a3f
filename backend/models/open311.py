"""Open311 GeoReport v2 clients and what they sent with the reports they filed.

Invariants: an API key is stored only as its SHA-256 hash (shown once, when issued) and is unique; a client
files into exactly one community, acting as its own service account (a user with no way to log in), so every
report it files names that account as reporter and actor. The contact details a client sends along with a
request stay in ``open311_request``: the Open311 output never reads them.

Model docstrings become table comments: keep semicolons out of them (SQLite's migration editor splits
on them).
"""

from __future__ import annotations

from tortoise import fields, models

from backend.models.reports import Channel

APP = "open311"


class Open311Client(models.Model):
    """A client organisation allowed to file reports through POST requests, with its API key hash."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    key_hash = fields.CharField(max_length=64, unique=True)  # SHA-256 hex of the key
    key_prefix = fields.CharField(max_length=12)  # the key's first characters, to tell keys apart in lists
    community = fields.ForeignKeyField(
        "core.OrgUnit", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    user = fields.ForeignKeyField("core.User", related_name=False, on_delete=fields.RESTRICT, db_index=False)
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.APP)
    is_active = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "open311_client"


class Open311Request(models.Model):
    """What a client sent with a report that the report itself does not keep (never part of any output)."""

    id = fields.BigIntField(primary_key=True)
    report = fields.OneToOneField("reports.Report", related_name=False, on_delete=fields.CASCADE)
    client = fields.ForeignKeyField("open311.Open311Client", related_name=False, on_delete=fields.RESTRICT)
    account_id = fields.CharField(max_length=64, null=True)
    device_id = fields.CharField(max_length=64, null=True)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=20, null=True)
    first_name = fields.CharField(max_length=32, null=True)
    last_name = fields.CharField(max_length=32, null=True)
    address_id = fields.CharField(max_length=64, null=True)
    media_url = fields.CharField(max_length=1000, null=True)  # recorded, never fetched
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "open311_request"
