"""Shapes of the public monthly board (晒)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.core.timeutil import LocalDatetime

MONTH_PATTERN = r"^20\d\d-(0[1-9]|1[0-2])$"


class RateRow(BaseModel):
    name: str
    unit_id: int | None = Field(description="网格 / 部门 id；“社区直办”为空")
    total: int
    responded_on_time: int
    response_due: int = Field(description="应响应数：已响应的，加上受理时限已过的")
    resolved: int
    rated: int
    satisfied: int
    overdue: int
    response_rate: float | None = Field(description="响应率（%）")
    resolution_rate: float | None = Field(description="解决率（%）")
    satisfaction_rate: float | None = Field(description="满意率（%）：评价 3–5 分占已评价的比例")


class CategoryCount(BaseModel):
    code: str
    name: str
    count: int


class BoardOut(BaseModel):
    community_id: int
    community_name: str
    street_name: str | None
    month: str
    frozen: bool = Field(description="已按月冻结公示（否则为实时统计）")
    published_at: LocalDatetime | None
    generated_at: LocalDatetime
    totals: RateRow
    grids: list[RateRow]
    departments: list[RateRow]
    categories: list[CategoryCount]


class BoardRow(BaseModel):
    """One report on the board: no names, phones or exact addresses; coordinates rounded to ~500 m."""

    report_id: int
    category_name: str
    category_top_name: str
    status_label: str
    created_on: str | None
    responded_on: str | None
    resolved_on: str | None
    handled_by: str
    result: str
    rating: int | None
    lat: float | None
    lng: float | None


class BoardRows(BaseModel):
    items: list[BoardRow]
    next_cursor: str | None = None
