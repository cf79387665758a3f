"""晒: the public monthly board of a community (no login needed: it is anonymous), its report lines, and the
Excel export. Included by ``router`` under /api/v1/reports."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.auth.dependencies import CurrentUser
from backend.core.errors import responses
from backend.core.pagination import CursorParam, LimitParam, decode_cursor
from backend.reports import board, export
from backend.reports.board_schemas import MONTH_PATTERN, BoardOut, BoardRows
from backend.reports.dependencies import BoardCommunity
from backend.reports.exceptions import BoardNotFound

router = APIRouter()
Month = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM（北京时间），默认本月")]
XLSX = {200: {"content": {export.MEDIA_TYPE: {}}, "description": "Excel 文件"}}


@router.get("/board/{community_id}", response_model=BoardOut, responses=responses(BoardNotFound))
async def get_board(community: BoardCommunity, month: Month = None):
    """月度公示：三率（响应率、解决率、满意率）及超时数，按网格和部门。过去的月份为冻结的公示。"""
    return await board.board_for(community, month or board.current_month())


@router.get("/board/{community_id}/rows", response_model=BoardRows, responses=responses(BoardNotFound))
async def board_rows(
    community: BoardCommunity, month: Month = None, cursor: CursorParam = None, limit: LimitParam = 50
):
    """公示明细：每条上报的分类、状态、日期、办理单位和结果（不含姓名、电话、门牌）。"""
    return await board.rows_for(
        community, month or board.current_month(), before_id=decode_cursor(cursor), limit=limit
    )


@router.get(
    "/board/{community_id}/export", response_class=Response, responses={**responses(BoardNotFound), **XLSX}
)
async def export_board(principal: CurrentUser, community: BoardCommunity, month: Month = None):
    """导出月度公示为 Excel。"""
    month = month or board.current_month()
    summary = await board.board_for(community, month)
    rows = await board.all_rows(community, month)
    data = await asyncio.to_thread(export.workbook, summary, rows)
    filename = f"board-{community.id}-{month}.xlsx"
    return Response(
        data,
        media_type=export.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
