"""Time: stored in UTC, shown in Asia/Shanghai (all Jinlin users live in one time zone)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import PlainSerializer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def _serialize(value: datetime) -> str:
    return to_local(value).isoformat(timespec="seconds")


# A datetime that leaves the API as ISO 8601 with the +08:00 offset.
LocalDatetime = Annotated[datetime, PlainSerializer(_serialize, return_type=str, when_used="json")]
