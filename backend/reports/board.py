"""晒: a community's public monthly board and its 三率 (response, resolution and satisfaction rates).

Definitions (per report filed in the month, Beijing time; withdrawn and merged reports are listed but not
counted):
- response rate  = accepted (or resolved) within the first accept clock / reports whose first accept clock has
  run out or that were answered — a report still inside its clock is not held against anyone;
- resolution rate = resolved or closed / counted reports;
- satisfaction rate = latest rating 3–5 (基本满意 and better) / rated reports;
- overdue = reports any of whose clocks ran out.
Per department (whistles on those reports): response = reported in (报到) on time / whistles due, resolution =
done / summoned, satisfaction over the rated reports they were summoned to, overdue = late to report in or
to finish.

The board is public and anonymous: category, status, dates, handling unit and the handler's public note (phone
and door numbers masked); no names, phones or addresses; coordinates snapped to a ~500 m grid. The current
month is computed live; a past month is frozen once (``freeze``, run by a periodic outbox job) and then served
from the snapshot, unchanged by later ratings. The aggregates are hand-written SQL over the
``(community_id, created_at)`` index: a community's month is a few thousand rows at most.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.core import sql
from backend.core.db import atomic
from backend.core.pagination import encode_cursor
from backend.core.timeutil import SHANGHAI, to_local, utcnow
from backend.models.org import OrgLevel, OrgUnit
from backend.models.reports import BoardEntry, BoardSnapshot, Level, ReportStatus
from backend.reports import repository
from backend.reports.board_schemas import BoardOut, BoardRow, BoardRows, CategoryCount, RateRow
from backend.reports.categories import taxonomy

COARSE = 0.005  # degrees: ~550 m north-south, ~450 m east-west at Lanzhou's latitude
NOT_COUNTED = ("withdrawn", "merged")
_PHONE = re.compile(r"1\d{10}|\d{3,4}-\d{7,8}")
_DOOR = re.compile(r"\d+\s*(号楼|栋|单元|室|号|层)")

_GRID_SQL = """
SELECT grid_id, COUNT(*) AS total,
  SUM(CASE WHEN responded_at IS NOT NULL AND responded_at <= response_due_at THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN responded_at IS NOT NULL OR response_due_at <= $1 THEN 1 ELSE 0 END) AS due,
  SUM(CASE WHEN status IN ('resolved', 'closed') THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated,
  SUM(CASE WHEN rating >= 3 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN was_overdue THEN 1 ELSE 0 END) AS overdue
FROM report
WHERE community_id = $2 AND created_at >= $3 AND created_at < $4 AND status NOT IN ('withdrawn', 'merged')
GROUP BY grid_id"""

_DEPARTMENT_SQL = """
SELECT t.department_id AS department_id, COUNT(*) AS total,
  SUM(CASE WHEN t.acknowledged_at IS NOT NULL AND t.acknowledged_at <= t.ack_due_at THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN t.acknowledged_at IS NOT NULL OR t.ack_due_at <= $1 THEN 1 ELSE 0 END) AS due,
  SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN r.rating IS NOT NULL THEN 1 ELSE 0 END) AS rated,
  SUM(CASE WHEN r.rating >= 3 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN t.late_ack OR t.late THEN 1 ELSE 0 END) AS overdue
FROM report_whistle_target t JOIN report r ON r.id = t.report_id
WHERE r.community_id = $2 AND r.created_at >= $3 AND r.created_at < $4 AND r.status NOT IN ('withdrawn', 'merged')
GROUP BY t.department_id"""

_CATEGORY_SQL = """
SELECT category_top, COUNT(*) AS n FROM report
WHERE community_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY category_top"""

_ROWS_SQL = """
SELECT id, category, status, level, grid_id, created_at, responded_at, resolved_at, lat, lng, public_note, rating
FROM report WHERE community_id = $1 AND created_at >= $2 AND created_at < $3 AND id < $4
ORDER BY id DESC LIMIT $5"""

_TARGETS_SQL = "SELECT report_id, department_id FROM report_whistle_target WHERE report_id IN ({})"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants where a Beijing-time month starts and ends."""
    year, number = (int(p) for p in month.split("-"))
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SHANGHAI)
    # UTC on purpose: SQLite compares the stored ISO strings, which Tortoise writes in UTC.
    return start.astimezone(UTC), end.astimezone(UTC)


def current_month(now: datetime | None = None) -> str:
    return f"{to_local(now or utcnow()):%Y-%m}"


def previous_month(now: datetime | None = None) -> str:
    local = to_local(now or utcnow())
    year, number = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _rate(name: str, unit_id: int | None, row: dict[str, Any]) -> RateRow:
    n = {
        k: int(row.get(k) or 0)
        for k in ("total", "on_time", "due", "resolved", "rated", "satisfied", "overdue")
    }
    return RateRow(
        name=name,
        unit_id=unit_id,
        total=n["total"],
        responded_on_time=n["on_time"],
        response_due=n["due"],
        resolved=n["resolved"],
        rated=n["rated"],
        satisfied=n["satisfied"],
        overdue=n["overdue"],
        response_rate=_pct(n["on_time"], n["due"]),
        resolution_rate=_pct(n["resolved"], n["total"]),
        satisfaction_rate=_pct(n["satisfied"], n["rated"]),
    )


def _sum(rows: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("total", "on_time", "due", "resolved", "rated", "satisfied", "overdue")
    return {k: sum(int(r.get(k) or 0) for r in rows) for k in keys}


async def summary(community: OrgUnit, month: str) -> BoardOut:
    """The month's rates for one community, computed now from the reports."""
    start, end = month_bounds(month)
    now = utcnow()
    grid_rows = await sql.fetch(_GRID_SQL, now, community.id, start, end)
    dept_rows = await sql.fetch(_DEPARTMENT_SQL, now, community.id, start, end)
    cat_rows = await sql.fetch(_CATEGORY_SQL, community.id, start, end)
    names = await repository.unit_names([r["grid_id"] for r in grid_rows] + [community.street_id])
    departments = await repository.department_names(r["department_id"] for r in dept_rows)
    grids = sorted(
        (_rate(names.get(r["grid_id"] or 0, "社区直办"), r["grid_id"], r) for r in grid_rows),
        key=lambda g: (g.unit_id is None, g.name),
    )
    return BoardOut(
        community_id=community.id,
        community_name=community.name,
        street_name=names.get(community.street_id or 0),
        month=month,
        frozen=False,
        published_at=None,
        generated_at=now,
        totals=_rate(community.name, community.id, _sum(grid_rows)),
        grids=grids,
        departments=sorted(
            (_rate(departments.get(r["department_id"], "部门"), r["department_id"], r) for r in dept_rows),
            key=lambda d: d.name,
        ),
        categories=sorted(
            (
                CategoryCount(
                    code=r["category_top"], name=taxonomy().top_name_of(r["category_top"]), count=int(r["n"])
                )
                for r in cat_rows
            ),
            key=lambda c: -c.count,
        ),
    )


def scrub(text: str | None) -> str | None:
    """A handler's public note without phone or door numbers."""
    if not text:
        return None
    return _DOOR.sub("**", _PHONE.sub("***", text))


def _coarse(value: float | None) -> float | None:
    return None if value is None else round(round(value / COARSE) * COARSE, 3)


def _day(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{to_local(value):%Y-%m-%d}"


async def live_rows(community: OrgUnit, month: str, *, before_id: int | None, limit: int) -> BoardRows:
    start, end = month_bounds(month)
    rows = await sql.fetch(_ROWS_SQL, community.id, start, end, before_id or 2**62, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [int(r["id"]) for r in rows]
    targets = await sql.fetch(_TARGETS_SQL.format(", ".join(str(i) for i in ids))) if ids else []
    departments = await repository.department_names(int(t["department_id"]) for t in targets)
    names = await repository.unit_names([r["grid_id"] for r in rows] + [community.id, community.street_id])
    summoned: dict[int, list[str]] = {}
    for t in targets:
        summoned.setdefault(int(t["report_id"]), []).append(departments.get(int(t["department_id"]), "部门"))
    unit_of = {
        Level.GRID: lambda r: names.get(r["grid_id"] or 0, community.name),
        Level.COMMUNITY: lambda r: community.name,
        Level.STREET: lambda r: names.get(community.street_id or 0, "街道"),
    }
    items = []
    for r in rows:
        status = ReportStatus(r["status"])
        handled = unit_of[Level(r["level"])](r)
        if summoned.get(int(r["id"])):
            handled += "、" + "、".join(sorted(set(summoned[int(r["id"])])))
        result = scrub(r["public_note"]) or (
            status.label if status not in (ReportStatus.RESOLVED, ReportStatus.CLOSED) else "已解决"
        )
        items.append(
            BoardRow(
                report_id=int(r["id"]),
                category_name=taxonomy().name_of(r["category"]),
                category_top_name=taxonomy().top_name_of(
                    taxonomy().get(r["category"]).top_code if taxonomy().get(r["category"]) else r["category"]
                ),
                status_label=status.label,
                created_on=_day(r["created_at"]),
                responded_on=_day(r["responded_at"]),
                resolved_on=_day(r["resolved_at"]),
                handled_by=handled,
                result=result,
                rating=int(r["rating"]) if r["rating"] is not None else None,
                lat=_coarse(r["lat"]),
                lng=_coarse(r["lng"]),
            )
        )
    return BoardRows(items=items, next_cursor=encode_cursor(ids[-1]) if more and ids else None)


# ------------------------------------------------------------------------------------------------ frozen months


async def snapshot(community: OrgUnit, month: str) -> BoardSnapshot | None:
    return await BoardSnapshot.get_or_none(unit_id=community.id, month=month)


async def frozen_rows(board: BoardSnapshot, *, before_id: int | None, limit: int) -> BoardRows:
    qs = BoardEntry.filter(board_id=board.id)
    if before_id is not None:
        qs = qs.filter(report_id__lt=before_id)
    entries = await qs.order_by("-report_id").limit(limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    return BoardRows(
        items=[BoardRow(**e.row) for e in entries],
        next_cursor=encode_cursor(entries[-1].report_id) if more and entries else None,
    )


async def _live_lines(community: OrgUnit, month: str) -> list[BoardRow]:
    lines: list[BoardRow] = []
    before = None
    while True:
        page = await live_rows(community, month, before_id=before, limit=500)
        lines += page.items
        if not page.next_cursor:
            return lines
        before = page.items[-1].report_id


async def freeze(community: OrgUnit, month: str) -> BoardSnapshot | None:
    """Publish a past month once: its summary and every line, as they stand now. None if already frozen."""
    if await snapshot(community, month) is not None:
        return None
    board = await summary(community, month)
    lines = await _live_lines(community, month)
    now = utcnow()
    board.frozen, board.published_at = True, now
    try:
        async with atomic():
            snap = await BoardSnapshot.create(
                unit_id=community.id,
                month=month,
                published_at=now,
                rows=len(lines),
                summary=board.model_dump(mode="json"),
            )
            await BoardEntry.bulk_create(
                [
                    BoardEntry(board_id=snap.id, report_id=line.report_id, row=line.model_dump(mode="json"))
                    for line in lines
                ],
                batch_size=500,
            )
    except IntegrityError:
        return None  # another worker published it first
    return snap


async def publish_month(month: str) -> int:
    """Freeze ``month`` for every community that has not got it yet; returns how many were published."""
    published = 0
    for community in await OrgUnit.filter(level=OrgLevel.COMMUNITY).order_by("id"):
        if await freeze(community, month) is not None:
            published += 1
    return published


# ------------------------------------------------------------------------------------------------ reading


async def board_for(community: OrgUnit, month: str) -> BoardOut:
    """The frozen board when the month was published, else the live one."""
    snap = await snapshot(community, month)
    return BoardOut.model_validate(snap.summary) if snap else await summary(community, month)


async def rows_for(community: OrgUnit, month: str, *, before_id: int | None, limit: int) -> BoardRows:
    snap = await snapshot(community, month)
    if snap is not None:
        return await frozen_rows(snap, before_id=before_id, limit=limit)
    return await live_rows(community, month, before_id=before_id, limit=limit)


async def all_rows(community: OrgUnit, month: str) -> list[BoardRow]:
    lines: list[BoardRow] = []
    before = None
    while True:
        page = await rows_for(community, month, before_id=before, limit=1000)
        lines += page.items
        if not page.next_cursor:
            return lines
        before = page.items[-1].report_id
