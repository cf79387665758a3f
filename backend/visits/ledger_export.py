"""The monthly 走访台账 as the Excel workbook a street office files: a summary sheet (every grid, then every
visitor, each block closed by a 合计 row) and one sheet per grid listing every household.

openpyxl write-only mode: rows are streamed to temporary files as they are appended, so memory stays flat
however many households there are. Households are read grid by grid; ``progress(done, total)`` is called after
each grid (the CLI draws a bar with it). The summary's numbers are ``months.report`` (the API's numbers), and
each grid sheet's 合计 row adds up its household rows, which tests check against the same API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from backend.core.timeutil import to_local, utcnow
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.org.scope import unit_scope
from backend.visits import months, repository, stats
from backend.visits.month_schemas import LedgerReportOut, MonthStats
from backend.visits.policies import policies_for

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_HEADER = ("网格", "住户数", "联系户数", "已走访户数", "覆盖率（%）", "走访次数", "未遇次数", "异常打卡",
                  "不予认可", "发现问题", "已解决问题")
VISITOR_HEADER = ("走访人", "台账状态", "联系户数", "已走访户数", "覆盖率（%）", "走访次数", "未遇次数", "异常打卡",
                  "不予认可", "发现问题", "已解决问题")
GRID_HEADER = ("序号", "楼栋", "门牌号", "联系人", "走访要求", "走访次数", "在家次数", "未遇次数", "最近走访",
               "发现问题", "已解决", "异常打卡", "是否覆盖")
BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _bold(sheet: Any, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def _numbers(s: MonthStats) -> list[Any]:
    return [s.visited, s.coverage, s.visits, s.not_home, s.flagged, s.rejected, s.problems_found,
            s.problems_solved]


def _sheet_name(name: str, taken: set[str]) -> str:
    base = (name.translate(BAD_SHEET_CHARS).strip("'") or "网格")[:28]
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base[:26]}({n})", n + 1
    taken.add(candidate)
    return candidate


def _widths(sheet: Any, widths: list[int]) -> None:
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width


def write_summary(book: Workbook, report: LedgerReportOut, month_label: str) -> None:
    sheet = book.create_sheet(title="汇总")
    _widths(sheet, [18] + [11] * 10)
    sheet.append([_bold(sheet, f"{report.unit.name} {month_label} 入户走访台账汇总")])
    sheet.append([f"导出时间：{to_local(utcnow()):%Y-%m-%d %H:%M}。覆盖率 = 已走访户数 / 联系户数；"
                  "已走访指当月入户见到住户；不予认可的走访不计入。"])
    sheet.append([])
    sheet.append([_bold(sheet, "一、各网格走访情况")])
    sheet.append([_bold(sheet, h) for h in SUMMARY_HEADER])
    for g in report.grids:
        sheet.append([g.name, g.households, g.assigned, *_numbers(g)])
    t = report.total
    sheet.append([_bold(sheet, v) for v in ["合计", t.households, t.assigned, *_numbers(t)]])
    sheet.append([])
    sheet.append([_bold(sheet, "二、走访人员情况")])
    sheet.append([_bold(sheet, h) for h in VISITOR_HEADER])
    total = stats.Counts()
    for v in report.visitors:
        sheet.append([v.name, v.month_status_label, v.assigned, *_numbers(v)])
        total.add(stats.Counts(**{k: getattr(v, k) for k in stats.Counts.__dataclass_fields__}))
    sheet.append([_bold(sheet, x) for x in ["合计", "", total.assigned, *_numbers(MonthStats(**total.as_dict()))]])


async def _grids(unit: OrgUnit) -> list[OrgUnit]:
    if OrgLevel(unit.level) is OrgLevel.GRID:
        return [unit]
    return await unit_scope(unit).filter(OrgUnit.filter(level=OrgLevel.GRID)).order_by("sort_order", "name", "id")


async def write_grid(book: Workbook, grid: OrgUnit, month: str, month_label: str, taken: set[str],
                     policies: dict) -> int:  # type: ignore[type-arg]
    """One grid's sheet; returns the number of household rows written."""
    start, end = months.bounds(month)
    households = await unit_scope(grid).filter(Household.all()).order_by("building_id", "door_no").values(
        "id", "door_no", "building__name", "community_id", "is_elderly", "is_living_alone", "is_disabled",
        "is_low_income", "is_hardship")
    per = await stats.household_rows(grid.id, start, end)
    names = await repository.user_names(r["visitor_id"] for r in per.values() if r["visitor_id"])
    sheet = book.create_sheet(title=_sheet_name(grid.name, taken))
    _widths(sheet, [7, 12, 12, 10, 18, 9, 9, 9, 17, 9, 9, 9, 9])
    sheet.append([_bold(sheet, f"{grid.name} {month_label} 入户走访台账")])
    sheet.append([_bold(sheet, h) for h in GRID_HEADER])
    sheet.freeze_panes = "A3"
    sums = dict.fromkeys(("assigned", "visits", "at_home", "found", "solved", "flagged", "visited"), 0)
    blank = {"visits": 0, "at_home": 0, "flagged": 0, "last_at": None, "found": 0, "solved": 0, "visitor_id": None,
             "assigned": False, "visited": False}
    for n, h in enumerate(households, start=1):
        r = per.get(h["id"], blank)
        rule = policies[h["community_id"]].rule_for(h)
        last = repository.as_datetime(r["last_at"])
        sheet.append([
            n, h["building__name"], h["door_no"], names.get(r["visitor_id"], "") if r["visitor_id"] else "",
            f"{rule.name}（{rule.cadence}）" if rule else "无", r["visits"], r["at_home"], r["visits"] - r["at_home"],
            f"{to_local(last):%Y-%m-%d %H:%M}" if last else "", r["found"], r["solved"], r["flagged"],
            ("是" if r["visited"] else "否") if r["assigned"] else "未分配",
        ])
        for key in ("visits", "at_home", "found", "solved", "flagged"):
            sums[key] += r[key]
        sums["assigned"] += bool(r["assigned"])
        sums["visited"] += bool(r["visited"])
    coverage = round(100.0 * sums["visited"] / sums["assigned"], 1) if sums["assigned"] else None
    sheet.append([_bold(sheet, v) for v in [
        "合计", f"{len(households)}户", "", sums["assigned"], "", sums["visits"], sums["at_home"],
        sums["visits"] - sums["at_home"], "", sums["found"], sums["solved"], sums["flagged"], sums["visited"]]])
    sheet.append(["覆盖率（%）", coverage])
    return len(households)


async def write(unit: OrgUnit, month: str, out: BinaryIO, *,
                progress: Callable[[int, int], None] | None = None) -> LedgerReportOut:
    """Write the unit's 台账 for the month to ``out``; returns the numbers of its summary sheet."""
    year, number = month.split("-")
    month_label = f"{year}年{int(number)}月"
    report = await months.report(unit, month)
    grids = await _grids(unit)
    total = await unit_scope(unit).filter(Household.all()).count()
    book = Workbook(write_only=True)
    write_summary(book, report, month_label)
    policies = await policies_for({g.community_id for g in grids}, default_fence=0)
    taken, done = {"汇总"}, 0
    if progress:
        progress(done, total)
    for grid in grids:
        done += await write_grid(book, grid, month, month_label, taken, policies)
        if progress:
            progress(done, total)
    await asyncio.to_thread(book.save, out)
    return report
