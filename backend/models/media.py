"""Uploaded media (photos of reports, deliveries, home visits).

Invariant: the stored file is always our own re-encoding (never the uploaded bytes, so no EXIF location leaves
with it), named by an unguessable key. A file belongs to its uploader until a domain attaches it to one object
(``owner_type`` + ``owner_id``), once. Unattached files are pruned after a day.
"""

from __future__ import annotations

from tortoise import fields, models

APP = "media"


class MediaFile(models.Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=40, unique=True)  # random, also the file name under media_dir
    path = fields.CharField(max_length=200)  # relative to settings.media_dir
    uploader = fields.ForeignKeyField(
        "core.User", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    content_type = fields.CharField(max_length=40)
    size = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    owner_type = fields.CharField(max_length=24, null=True)  # e.g. "report"
    owner_id = fields.BigIntField(null=True)
    attached_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media_file"
        indexes = (("owner_type", "owner_id"), ("uploader_id", "id"), ("attached_at", "created_at"))
