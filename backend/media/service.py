"""Store uploads, attach them to domain objects, and hand out signed short-lived URLs (docs/adr/0013).

Other domains call::

    from backend.media import service as media
    await media.attach(ids, uploader_id=actor.id, owner_type="report", owner_id=report.id)  # inside atomic()
    urls = await media.urls(settings, ids)                       # after an authorised read of the object
    media.register_access("report", may_see_report)              # who may see media attached to a report
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core.timeutil import to_local, utcnow
from backend.media import images, repository
from backend.media.exceptions import LinkExpired, MediaNotFound, MediaNotUsable
from backend.models.media import MediaFile
from backend.users.merge import on_user_merged

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
URL_TTL_SECONDS = 15 * 60
URL_BUCKET_SECONDS = (
    5 * 60
)  # expiries are rounded up to this, so one photo keeps one URL for a while (caching)
CONTENT_PATH = "/api/v1/media/{id}/content"

AccessCheck = Callable[[Principal, int], Awaitable[bool]]
_access: dict[str, AccessCheck] = {}


def register_access(owner_type: str, check: AccessCheck) -> None:
    """``check(principal, owner_id)``: may this caller see the object that media of ``owner_type`` belong to?"""
    _access[owner_type] = check


# ------------------------------------------------------------------------------------------------ storing


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


async def store(media_dir: Path, *, uploader_id: int, data: bytes) -> MediaFile:
    """Re-encode and store one upload (type and size were checked by the caller); returns the new row."""
    encoded = await asyncio.to_thread(images.reencode, data)
    key = secrets.token_urlsafe(24)
    relative = f"{to_local(utcnow()):%Y/%m}/{key}.jpg"
    target = media_dir / relative
    await asyncio.to_thread(_write_atomically, target, encoded.data)
    try:
        return await MediaFile.create(
            key=key,
            path=relative,
            uploader_id=uploader_id,
            content_type=images.OUTPUT_CONTENT_TYPE,
            size=len(encoded.data),
            width=encoded.width,
            height=encoded.height,
            sha256=hashlib.sha256(encoded.data).hexdigest(),
        )
    except BaseException:
        target.unlink(missing_ok=True)  # no row, no file
        raise


async def attach(ids: Sequence[int], *, uploader_id: int, owner_type: str, owner_id: int) -> None:
    """Attach the caller's own unattached uploads to one object (call inside the object's transaction).
    All or nothing: MediaNotUsable names the ids that are missing, someone else's, or already used."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    done = await repository.attach(
        wanted, uploader_id=uploader_id, owner_type=owner_type, owner_id=owner_id, now=utcnow()
    )
    if done != len(wanted):
        usable = await repository.attached_to(wanted, owner_type, owner_id)
        raise MediaNotUsable(detail={"ids": [i for i in wanted if i not in usable]})


async def prune(media_dir: Path, *, before: datetime) -> int:
    """Delete uploads never attached to anything, created before ``before`` (rows and files)."""
    removed = 0
    for row in await repository.unattached_before(before):
        if await repository.delete_unattached(row.id):
            (media_dir / row.path).unlink(missing_ok=True)
            removed += 1
    return removed


# ------------------------------------------------------------------------------------------------ URLs


def _signing_key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"jinlin-media-url-v1", hashlib.sha256).digest()


def _signature(settings: Settings, media_id: int, key: str, expires: int) -> str:
    mac = hmac.new(_signing_key(settings), f"{media_id}.{key}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def signed_url(settings: Settings, row: MediaFile, *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    expires = int(math.ceil((now + URL_TTL_SECONDS) / URL_BUCKET_SECONDS) * URL_BUCKET_SECONDS)
    sig = _signature(settings, row.id, row.key, expires)
    return f"{CONTENT_PATH.format(id=row.id)}?exp={expires}&sig={sig}"


async def urls(settings: Settings, ids: Sequence[int]) -> dict[int, str]:
    """Signed URLs of these media ids (those that exist), for a response the caller was authorised to read."""
    rows = await repository.by_ids(list(ids))
    return {row.id: signed_url(settings, row) for row in rows}


async def open_signed(settings: Settings, media_id: int, expires: int, sig: str) -> tuple[MediaFile, int]:
    """The media row behind a signed URL and the seconds it stays valid; LinkExpired otherwise."""
    remaining = expires - int(time.time())
    if remaining <= 0 or remaining > URL_TTL_SECONDS + URL_BUCKET_SECONDS:
        raise LinkExpired()
    row = await repository.by_id(media_id)
    if row is None or not hmac.compare_digest(_signature(settings, row.id, row.key, expires), sig):
        raise LinkExpired()
    return row, remaining


async def readable(principal: Principal, media_id: int) -> MediaFile:
    """A media row the caller may see: their own upload, or one attached to an object they may see."""
    row = await repository.by_id(media_id)
    if row is None:
        raise MediaNotFound()
    if row.uploader_id == principal.id:
        return row
    check = _access.get(row.owner_type or "")
    if check is not None and row.owner_id is not None and await check(principal, row.owner_id):
        return row
    raise MediaNotFound()


@on_user_merged
async def _move_uploads(from_user_id: int, to_user_id: int) -> None:
    """A placeholder account merged into the real one: its uploads (attached or not) follow it."""
    await repository.move_uploads(from_user_id, to_user_id)
