"""The monthly board as an Excel workbook (openpyxl, write-only mode): 三率 per grid, per department, and every
report line, exactly as the public board shows them (anonymous)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from backend.reports.board_schemas import BoardOut, BoardRow, RateRow

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATE_HEADER = (
    "单位",
    "上报数",
    "按时响应",
    "应响应",
    "已解决",
    "已评价",
    "满意",
    "超时",
    "响应率%",
    "解决率%",
    "满意率%",
)
ROW_HEADER = (
    "编号",
    "大类",
    "小类",
    "状态",
    "上报日期",
    "响应日期",
    "办结日期",
    "办理单位",
    "办理结果",
    "评价",
    "纬度≈",
    "经度≈",
)


def _bold(sheet, value: str) -> WriteOnlyCell:  # type: ignore[no-untyped-def]
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def _rate(row: RateRow) -> list:
    return [
        row.name,
        row.total,
        row.responded_on_time,
        row.response_due,
        row.resolved,
        row.rated,
        row.satisfied,
        row.overdue,
        row.response_rate,
        row.resolution_rate,
        row.satisfaction_rate,
    ]


def workbook(board: BoardOut, rows: list[BoardRow]) -> bytes:
    """The .xlsx bytes (CPU-bound: call it in a worker thread)."""
    book = Workbook(write_only=True)
    title = f"{board.street_name or ''}{board.community_name} {board.month} 居民诉求办理公示"
    state = "已冻结公示" if board.frozen else "实时统计（本月尚未结束）"

    rates = book.create_sheet("三率")
    rates.append([_bold(rates, title)])
    rates.append([state])
    rates.append([_bold(rates, h) for h in RATE_HEADER])
    rates.append(_rate(board.totals))
    for grid in board.grids:
        rates.append(_rate(grid))

    departments = book.create_sheet("部门")
    departments.append([_bold(departments, h) for h in ("部门", *RATE_HEADER[1:])])
    for department in board.departments:
        departments.append(_rate(department))

    lines = book.create_sheet("上报明细")
    lines.append([_bold(lines, h) for h in ROW_HEADER])
    for r in rows:
        lines.append(
            [
                r.report_id,
                r.category_top_name,
                r.category_name,
                r.status_label,
                r.created_on,
                r.responded_on,
                r.resolved_on,
                r.handled_by,
                r.result,
                r.rating,
                r.lat,
                r.lng,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
