"""Queries of the Open311 endpoints. Public reads are not scoped (the board they mirror is public for every
community) and select only ``PUBLIC_COLUMNS``: what the public board shows, never the description, address,
reporter or photos, so no later change to a view can leak them by accident."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from backend.models.open311 import Open311Client, Open311Request
from backend.models.org import OrgLevel, OrgUnit
from backend.models.reports import Report
from backend.models.user import User
from backend.open311.enums import JINLIN_STATUSES

PUBLIC_COLUMNS = (
    "id",
    "category",
    "status",
    "level",
    "street_id",
    "community_id",
    "grid_id",
    "lat",
    "lng",
    "public_note",
    "clock",
    "due_at",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
)


async def requests_by_id(ids: Iterable[int], limit: int) -> list[dict[str, Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return await Report.filter(id__in=wanted).order_by("-id").limit(limit).values(*PUBLIC_COLUMNS)


async def requests_between(
    start: datetime,
    end: datetime,
    *,
    codes: Iterable[str] | None,
    statuses: Iterable[str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Reports requested in [start, end], newest first (the primary key's order: no sort over the range)."""
    qs = Report.filter(created_at__gte=start, created_at__lte=end)
    if codes:
        qs = qs.filter(category__in=sorted(codes))
    if statuses:
        qs = qs.filter(status__in=sorted(s.value for name in statuses for s in JINLIN_STATUSES[name]))
    return await qs.order_by("-id").limit(limit).values(*PUBLIC_COLUMNS)


# ------------------------------------------------------------------------------------------------ clients


async def active_client(key_hash: str) -> Open311Client | None:
    """The client holding this key, with its community and service account, if both are active."""
    client = (
        await Open311Client.filter(key_hash=key_hash, is_active=True)
        .select_related("community", "user")
        .first()
    )
    return client if client is not None and client.user.is_active else None


async def client_named(name: str) -> Open311Client | None:
    return await Open311Client.get_or_none(name=name)


async def clients() -> list[Open311Client]:
    return await Open311Client.all().select_related("community").order_by("name")


async def community(unit_id: int) -> OrgUnit | None:
    return await OrgUnit.get_or_none(id=unit_id, level=OrgLevel.COMMUNITY)


async def create_service_account(name: str) -> User:
    """The user a client files as: no phone, password or WeChat, so nobody can log in as it."""
    return await User.create(name=name[:32])


async def record_request(report_id: int, client_id: int, values: dict[str, Any]) -> Open311Request:
    return await Open311Request.create(report_id=report_id, client_id=client_id, **values)
