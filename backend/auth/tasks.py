"""Outbox handlers of the auth domain."""

from __future__ import annotations

from datetime import timedelta

from backend.core.timeutil import utcnow
from backend.models.auth import RefreshToken
from backend.models.outbox import OutboxEvent
from backend.outbox.registry import handler, periodic


periodic("auth.prune_refresh_tokens", every=timedelta(hours=6))


@handler("auth.prune_refresh_tokens")
async def prune_refresh_tokens(event: OutboxEvent) -> None:
    """Drop refresh tokens expired for a week: they can no longer be presented, nor detect reuse."""
    await RefreshToken.filter(expires_at__lt=utcnow() - timedelta(days=7)).delete()
