"""Shapes of the monthly 走访台账: a visitor's month, its review, and the statistics of a unit."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from backend.core.timeutil import LocalDatetime
from backend.models.org import OrgLevel
from backend.models.visits import MonthStatus
from backend.visits.schemas import Strict


class MonthStats(BaseModel):
    households: int = Field(description="住户数（仅网格和合计行）")
    assigned: int = Field(description="联系户数")
    visited: int = Field(description="已走访户数（在家见到）")
    coverage: float | None = Field(description="覆盖率（%）")
    visits: int = Field(description="走访次数")
    not_home: int = Field(description="未遇次数")
    flagged: int = Field(description="异常打卡次数")
    rejected: int = Field(description="不予认可的走访次数")
    problems_found: int
    problems_solved: int


class MonthOut(BaseModel):
    id: int | None = Field(description="尚未提交过时为空")
    visitor_id: int
    visitor_name: str
    month: str
    status: MonthStatus
    status_label: str
    stats: MonthStats = Field(description="已提交的台账为提交时的数字，否则为当前数字")
    live: MonthStats | None = Field(description="已提交的台账：当前数字（提交后又上传的走访会让它不同）")
    grid_id: int | None
    submitted_at: LocalDatetime | None
    reviewed_by_id: int | None
    reviewed_at: LocalDatetime | None
    return_reason: str | None
    version: int


class ApproveIn(Strict):
    version: Annotated[int | None, Field(ge=1, le=2**31, description="审核时看到的版本号")] = None


class ReturnIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    version: Annotated[int | None, Field(ge=1, le=2**31)] = None


class VisitorRow(MonthStats):
    visitor_id: int
    name: str
    month_status: MonthStatus
    month_status_label: str


class GridRow(MonthStats):
    grid_id: int | None
    name: str


class UnitRef(BaseModel):
    id: int
    name: str
    level: OrgLevel


class LedgerReportOut(BaseModel):
    month: str
    unit: UnitRef
    visitors: list[VisitorRow]
    grids: list[GridRow]
    total: GridRow
