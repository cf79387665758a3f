"""The numbers of a 走访台账, for a month (Beijing time), per visitor and per grid, within one unit.

Definitions (docs/visits.md):
- assigned  — households the visitor (grid) had assigned at any time in the month (assignment spans);
- visited   — of those, households with an at-home visit in the month: by the visitor themselves for a visitor's
              row, by anyone for a grid's row;
- coverage  — visited / assigned, in per cent;
- visits    — check-ins in the month (at home or not), not_home the ones where nobody was in;
- flagged   — check-ins carrying a flag (out of the fence, skewed clock…), rejected the ones a leader rejected;
- problems  — problems found by the month's visits, solved those solved on the spot or whose report was resolved.
Rejected visits count for nothing but ``rejected``. A grid's numbers sum to the unit's total; visitors' assigned
counts may add up to more when a household changed hands during the month (each held it for a while).

Aggregates are hand-written SQL over the ``(<level>_id, effective_at)`` and ``(<level>_id, started_at)`` indexes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from backend.core import sql
from backend.models.org import OrgLevel

COUNTED = "review_status <> 'rejected'"
SOLVED = "(p.solved_at IS NOT NULL OR r.status IN ('resolved', 'closed'))"


@dataclass
class Counts:
    households: int = 0
    assigned: int = 0
    visited: int = 0
    visits: int = 0
    not_home: int = 0
    flagged: int = 0
    rejected: int = 0
    problems_found: int = 0
    problems_solved: int = 0

    @property
    def coverage(self) -> float | None:
        return round(100.0 * self.visited / self.assigned, 1) if self.assigned else None

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "coverage": self.coverage}


class _Params:
    """Numbered placeholders in the order they are written (the SQLite rewrite relies on that order)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _column(level: OrgLevel) -> str:
    return OrgLevel(level).column  # a fixed identifier, never user text


def _overlap(p: _Params, alias: str, start: datetime, end: datetime) -> str:
    return f"{alias}.started_at < {p(end)} AND ({alias}.ended_at IS NULL OR {alias}.ended_at > {p(start)})"


def _month(p: _Params, column: str, start: datetime, end: datetime) -> str:
    return f"{column} >= {p(start)} AND {column} < {p(end)}"


async def by_key(key: str, start: datetime, end: datetime, *, unit: tuple[OrgLevel, int] | None = None,
                 visitor_id: int | None = None) -> dict[int, Counts]:
    """Counts grouped by ``key`` (``visitor_id`` or ``grid_id``) within a unit and/or for one visitor."""
    assert key in ("visitor_id", "grid_id")
    out: dict[int, Counts] = {}

    def where(p: _Params, alias: str) -> str:
        parts = []
        if unit is not None:
            parts.append(f"{alias}.{_column(unit[0])} = {p(unit[1])}")
        if visitor_id is not None:
            parts.append(f"{alias}.visitor_id = {p(visitor_id)}")
        return "".join(f" AND {x}" for x in parts)

    def put(rows: list[dict[str, Any]], **names: str) -> None:
        for row in rows:
            if row[key] is None:
                continue
            counts = out.setdefault(int(row[key]), Counts())
            for attr, column in names.items():
                setattr(counts, attr, int(row[column] or 0))

    p = _Params()
    same_visitor = "AND v.visitor_id = s.visitor_id " if key == "visitor_id" else ""
    q = (f"SELECT s.{key}, COUNT(DISTINCT s.household_id) AS assigned, COUNT(DISTINCT CASE WHEN EXISTS ("
         f"SELECT 1 FROM visit v WHERE v.household_id = s.household_id {same_visitor}AND v.at_home "
         f"AND v.{COUNTED} AND {_month(p, 'v.effective_at', start, end)}) THEN s.household_id END) AS visited "
         f"FROM visit_assignment_span s WHERE {_overlap(p, 's', start, end)}{where(p, 's')} GROUP BY s.{key}")
    put(await sql.fetch(q, *p.values), assigned="assigned", visited="visited")

    p = _Params()
    q = (f"SELECT v.{key}, SUM(CASE WHEN v.{COUNTED} THEN 1 ELSE 0 END) AS visits, "
         f"SUM(CASE WHEN v.{COUNTED} AND NOT v.at_home THEN 1 ELSE 0 END) AS not_home, "
         f"SUM(CASE WHEN v.{COUNTED} AND v.flagged THEN 1 ELSE 0 END) AS flagged, "
         f"SUM(CASE WHEN v.{COUNTED} THEN 0 ELSE 1 END) AS rejected "
         f"FROM visit v WHERE {_month(p, 'v.effective_at', start, end)}{where(p, 'v')} GROUP BY v.{key}")
    put(await sql.fetch(q, *p.values), visits="visits", not_home="not_home", flagged="flagged", rejected="rejected")

    p = _Params()
    q = (f"SELECT p.{key}, COUNT(*) AS found, SUM(CASE WHEN {SOLVED} THEN 1 ELSE 0 END) AS solved "
         f"FROM visit_problem p JOIN visit v ON v.id = p.visit_id LEFT JOIN report r ON r.id = p.report_id "
         f"WHERE {_month(p, 'p.found_at', start, end)} AND v.{COUNTED}{where(p, 'p')} GROUP BY p.{key}")
    put(await sql.fetch(q, *p.values), problems_found="found", problems_solved="solved")

    if key == "grid_id" and unit is not None:
        p = _Params()
        q = (f"SELECT h.grid_id, COUNT(*) AS n FROM household h WHERE h.{_column(unit[0])} = {p(unit[1])} "
             f"GROUP BY h.grid_id")
        put(await sql.fetch(q, *p.values), households="n")
    return out


async def of_visitor(visitor_id: int, start: datetime, end: datetime) -> Counts:
    """One visitor's month, over all their households wherever they are."""
    return (await by_key("visitor_id", start, end, visitor_id=visitor_id)).get(visitor_id, Counts())


def total(rows: dict[int, Counts]) -> Counts:
    out = Counts()
    for counts in rows.values():
        out.add(counts)
    return out


# ------------------------------------------------------------------------------------------------ per household


async def household_rows(grid_id: int, start: datetime, end: datetime) -> dict[int, dict[str, Any]]:
    """Per household of one grid: the month's visits, at-home visits, last visit, flagged, problems found and
    solved, and who held it (the latest assignment span overlapping the month)."""
    out: dict[int, dict[str, Any]] = {}

    def row(hid: int) -> dict[str, Any]:
        return out.setdefault(int(hid), {"visits": 0, "at_home": 0, "flagged": 0, "last_at": None, "found": 0,
                                         "solved": 0, "visitor_id": None, "assigned": False, "visited": False})

    p = _Params()
    q = (f"SELECT v.household_id, COUNT(*) AS visits, SUM(CASE WHEN v.at_home THEN 1 ELSE 0 END) AS at_home, "
         f"SUM(CASE WHEN v.flagged THEN 1 ELSE 0 END) AS flagged, MAX(v.effective_at) AS last_at FROM visit v "
         f"WHERE v.grid_id = {p(grid_id)} AND {_month(p, 'v.effective_at', start, end)} AND v.{COUNTED} "
         f"GROUP BY v.household_id")
    for r in await sql.fetch(q, *p.values):
        row(r["household_id"]).update(visits=int(r["visits"]), at_home=int(r["at_home"] or 0),
                                      flagged=int(r["flagged"] or 0), last_at=r["last_at"])
    p = _Params()
    q = (f"SELECT p.household_id, COUNT(*) AS found, SUM(CASE WHEN {SOLVED} THEN 1 ELSE 0 END) AS solved "
         f"FROM visit_problem p JOIN visit v ON v.id = p.visit_id LEFT JOIN report r ON r.id = p.report_id "
         f"WHERE p.grid_id = {p(grid_id)} AND {_month(p, 'p.found_at', start, end)} AND v.{COUNTED} "
         f"GROUP BY p.household_id")
    for r in await sql.fetch(q, *p.values):
        row(r["household_id"]).update(found=int(r["found"]), solved=int(r["solved"] or 0))
    p = _Params()
    q = (f"SELECT s.household_id, s.visitor_id FROM visit_assignment_span s WHERE s.grid_id = {p(grid_id)} "
         f"AND {_overlap(p, 's', start, end)} ORDER BY s.id")
    for r in await sql.fetch(q, *p.values):
        entry = row(r["household_id"])
        entry.update(visitor_id=int(r["visitor_id"]), assigned=True)  # the latest span wins (ordered by id)
    for entry in out.values():
        entry["visited"] = entry["assigned"] and entry["at_home"] > 0
    return out
