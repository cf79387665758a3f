"""Queries of the media domain. Media carry no org columns: who may see a file follows from its uploader or
from the object it is attached to (``service.readable``), never from a filter here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from backend.models.media import MediaFile


async def by_id(media_id: int) -> MediaFile | None:
    return await MediaFile.get_or_none(id=media_id)


async def by_ids(ids: Sequence[int]) -> list[MediaFile]:
    if not ids:
        return []
    return await MediaFile.filter(id__in=sorted(set(ids))).order_by("id")


async def attach(
    ids: Sequence[int], *, uploader_id: int, owner_type: str, owner_id: int, now: datetime
) -> int:
    """Attach in one conditional UPDATE: only the uploader's own files that nothing holds yet."""
    return await MediaFile.filter(id__in=list(ids), uploader_id=uploader_id, owner_type=None).update(
        owner_type=owner_type, owner_id=owner_id, attached_at=now
    )


async def attached_to(ids: Sequence[int], owner_type: str, owner_id: int) -> set[int]:
    return set(
        await MediaFile.filter(id__in=list(ids), owner_type=owner_type, owner_id=owner_id).values_list(
            "id", flat=True
        )
    )


async def unattached_before(before: datetime, limit: int = 1000) -> list[MediaFile]:
    return await MediaFile.filter(attached_at=None, created_at__lt=before).order_by("id").limit(limit)


async def delete_unattached(media_id: int) -> bool:
    return bool(await MediaFile.filter(id=media_id, attached_at=None).delete())


async def move_uploads(from_user_id: int, to_user_id: int) -> int:
    return await MediaFile.filter(uploader_id=from_user_id).update(uploader_id=to_user_id)
