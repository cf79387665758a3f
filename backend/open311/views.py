"""Reports and categories as Open311 data (the one representation ``render`` encodes as XML or JSON).

Privacy: a service request shows only what the public monthly board (晒) already shows — category, status,
dates, the handling unit, the handler's public note with phone and door numbers masked, and the position
snapped to the board's ~500 m grid (``board.scrub`` and the board's own snapping: the rule lives in the
reports package, not here). Never the description, names, phones, photos or the address: the rows these
views receive do not even carry those columns (``repository.PUBLIC_COLUMNS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.core.timeutil import to_local
from backend.models.reports import OPEN_STATUSES, Clock, Level, ReportStatus
from backend.open311.enums import CLOSED, open311_status
from backend.open311.geo import gcj02_to_wgs84
from backend.reports import board
from backend.reports.categories import Category, taxonomy

CLOSED_ON = {ReportStatus.RESOLVED: "resolved_at", ReportStatus.CLOSED: "closed_at"}


def w3c(value: datetime | None) -> str | None:
    """ISO 8601 with the zone offset (Beijing time), e.g. 2026-11-22T09:30:00+08:00."""
    return None if value is None else to_local(value).isoformat(timespec="seconds")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 1)


# ------------------------------------------------------------------------------------------------ services


def service_notice(category: Category, level: Level) -> str:
    clocks = category.clock(level)
    return (
        f"由{level.label}受理：{_number(clocks.accept.total_seconds() / 3600)} 小时内受理，"
        f"{_number(clocks.resolve.total_seconds() / 86400)} 天内办结；超时自动上报上一级。"
    )


def service(category: Category) -> dict[str, Any]:
    top, sub = category.code.split(".", 1)
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.top_name}：{category.name}。"
        + service_notice(category, category.default_level),
        "metadata": bool(attributes(category)),
        "type": "realtime",
        "keywords": ", ".join([category.name, category.top_name, top, sub]),
        "group": category.top_name,
    }


def services() -> list[dict[str, Any]]:
    return [service(c) for c in taxonomy().by_code.values()]


def attributes(category: Category) -> list[dict[str, Any]]:
    """Extra form fields of a category. The taxonomy (shared/report-categories.json) defines none yet, so
    every service has ``metadata: false`` and a definition with an empty attribute list."""
    return []


def definition(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": attributes(category)}


# ------------------------------------------------------------------------------------------------ requests


def _handled_by(row: dict[str, Any], names: dict[int, str]) -> str | None:
    level = Level(row["level"])
    if level is Level.GRID and row["grid_id"]:
        return names.get(row["grid_id"])
    if level is Level.STREET:
        return names.get(row["street_id"] or 0)
    return names.get(row["community_id"] or 0)


def _area(row: dict[str, Any], names: dict[int, str]) -> str | None:
    """The community and street, most specific first: no building, door or street address."""
    parts = [names.get(row["community_id"] or 0), names.get(row["street_id"] or 0)]
    return "，".join(p for p in parts if p) or None


def _expected(row: dict[str, Any], category: Category | None) -> datetime | None:
    """From the running clock: the resolve deadline, or (still waiting to be accepted) the accept deadline
    plus the level's resolve time. No clock (waiting for the reporter, past the street's clock, finished):
    none."""
    clock, due = row["clock"], row["due_at"]
    if clock is None or due is None or ReportStatus(row["status"]) not in OPEN_STATUSES:
        return None
    if Clock(clock) is Clock.RESOLVE:
        return due
    if Clock(clock) is Clock.ACCEPT and category is not None:
        return due + category.clock(Level(row["level"])).resolve
    return None


def _status_notes(status: ReportStatus, public_note: str | None) -> str:
    if status in (ReportStatus.RESOLVED, ReportStatus.CLOSED):
        return board.scrub(public_note) or status.label
    return status.label


def _position(row: dict[str, Any]) -> tuple[float | None, float | None]:
    """The board's snapped position (GCJ-02, ~500 m), expressed in WGS-84 as the spec asks. Snapping first
    keeps the output a function of what the board already publishes, so the two together reveal no more."""
    lat, lng = board._coarse(row["lat"]), board._coarse(row["lng"])  # the board's rule, reused as is
    if lat is None or lng is None:
        return None, None
    w_lat, w_lng = gcj02_to_wgs84(lat, lng)
    return round(w_lat, 6), round(w_lng, 6)


def service_request(row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    status = ReportStatus(row["status"])
    category = taxonomy().get(row["category"])
    closed_at = row.get(CLOSED_ON.get(status, "closed_at")) if open311_status(status) == CLOSED else None
    lat, lng = _position(row)
    return {
        "service_request_id": str(row["id"]),
        "status": open311_status(status),
        "status_notes": _status_notes(status, row["public_note"]),
        "service_name": category.name if category else row["category"],
        "service_code": row["category"],
        "description": None,
        "agency_responsible": _handled_by(row, names),
        "service_notice": service_notice(category, Level(row["level"]))
        if category and status in OPEN_STATUSES
        else None,
        "requested_datetime": w3c(row["created_at"]),
        "updated_datetime": w3c(closed_at or row["updated_at"]),
        "expected_datetime": w3c(_expected(row, category)),
        "address": _area(row, names),
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        "media_url": None,
    }


def unit_ids(rows: list[dict[str, Any]]) -> list[int | None]:
    return [r[c] for r in rows for c in ("grid_id", "community_id", "street_id")]


def created(report_id: int, category: Category, level: Level, account_id: str | None) -> dict[str, Any]:
    """The answer to POST requests: the new id (realtime: no token), what happens next, the account."""
    return {
        "service_request_id": str(report_id),
        "service_notice": service_notice(category, level),
        "account_id": account_id,
    }
