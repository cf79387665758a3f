"""Outbox jobs of the media domain: forget uploads nobody attached."""

from __future__ import annotations

from datetime import timedelta

from backend.config import get_settings
from backend.core.timeutil import utcnow
from backend.media import service
from backend.models.outbox import OutboxEvent
from backend.outbox.registry import handler, periodic

UNATTACHED_FOR = timedelta(hours=24)

periodic("media.prune", every=timedelta(hours=1))


@handler("media.prune")
async def prune(event: OutboxEvent) -> None:
    """Delete uploads that were never attached to anything within a day (an abandoned report form)."""
    await service.prune(get_settings().media_dir, before=utcnow() - UNATTACHED_FOR)
