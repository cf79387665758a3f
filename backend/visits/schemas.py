"""Request and response shapes of the visits API: check-ins and their sync, plans, assignments, policies."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from backend.core.errors import ErrorBody
from backend.core.timeutil import LocalDatetime
from backend.visits.enums import TAG_PATTERN
from backend.visits.policy import FLAGS, MAX_TIMES

Id = Annotated[int, Field(gt=0, le=2**62)]
MONTH_PATTERN = r"^20\d\d-(0[1-9]|1[0-2])$"
Month = Annotated[str, StringConstraints(pattern=MONTH_PATTERN)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
CHINA_LAT = (3.5, 54.0)  # wx.getLocation gives GCJ-02, defined only inside China
CHINA_LNG = (73.0, 136.0)


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("不能重复")
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------------ check-ins

TagCode = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]


class VisitIn(Strict):
    """One visit as the phone recorded it. ``client_id`` is generated on the phone and never changes: sending the
    same visit again is harmless. To edit a visit already synced, send it again with ``base_version``."""

    client_id: uuid.UUID = Field(description="手机端生成的走访编号（UUID），重发不会重复记录")
    household_id: Id
    visited_at: AwareDatetime = Field(description="走访时间（手机时间，带时区）")
    lat: Annotated[float | None, Field(ge=-90, le=90, description="纬度（GCJ-02）")] = None
    lng: Annotated[float | None, Field(ge=-180, le=180, description="经度（GCJ-02）")] = None
    accuracy_m: Annotated[float | None, Field(ge=0, le=100_000, description="定位精度（米）")] = None
    at_home: bool = Field(description="住户是否在家（未遇也要记录）")
    notes: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=1000)] = None
    tags: Annotated[list[TagCode], Field(max_length=8, description="发现的问题，见 GET /api/v1/visits/tags"),
                    AfterValidator(_unique)] = Field(default_factory=list)
    photo_ids: Annotated[list[Id], Field(max_length=9, description="照片 id（先上传到 /api/v1/media）"),
                         AfterValidator(_unique)] = Field(default_factory=list)
    base_version: Annotated[int | None, Field(ge=1, le=2**31, description="修改已上传的走访时：修改所基于的版本号")] = None

    @model_validator(mode="after")
    def _point(self) -> VisitIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("经纬度需同时提供")
        if self.lat is not None and self.lng is not None and not (
            CHINA_LAT[0] <= self.lat <= CHINA_LAT[1] and CHINA_LNG[0] <= self.lng <= CHINA_LNG[1]
        ):
            raise ValueError("位置不在服务范围内（应为中国境内的 GCJ-02 坐标）")
        return self


class CheckInIn(VisitIn):
    sent_at: AwareDatetime | None = Field(default=None, description="提交时的手机时间（用于发现手机时间不准）")


class SyncIn(Strict):
    sent_at: AwareDatetime = Field(description="这批记录发出时的手机时间（用于发现手机时间不准）")
    items: Annotated[list[VisitIn], Field(min_length=1, max_length=200)]


class FlagOut(BaseModel):
    code: str
    label: str
    message: str = Field(description="给人看的说明，带数字")
    data: dict[str, Any]


class ProblemOut(BaseModel):
    id: int
    tag: str
    tag_label: str
    report_id: int | None
    solved: bool
    solved_at: LocalDatetime | None
    solve_note: str | None


class VisitOut(BaseModel):
    id: int
    client_id: uuid.UUID
    version: int
    visitor_id: int
    visitor_name: str
    household_id: int
    household_label: str
    visited_at: LocalDatetime = Field(description="手机记录的走访时间")
    effective_at: LocalDatetime = Field(description="计入统计的走访时间（手机时间不准时已校正）")
    received_at: LocalDatetime
    skew_seconds: int | None = Field(description="手机时间减服务器时间（秒）")
    at_home: bool
    notes: str | None
    tags: list[str]
    photo_ids: list[int]
    photo_urls: dict[int, str] = Field(default_factory=dict)
    lat: float | None = Field(description="走访人本人或 reveal=true 时返回")
    lng: float | None
    position_masked: bool
    accuracy_m: float | None
    distance_m: int | None = Field(description="距住户楼栋的距离（米）")
    fence_m: int
    out_of_fence: bool
    flagged: bool
    flags: list[FlagOut]
    source: str
    review_status: str
    review_label: str
    review_note: str | None
    problems: list[ProblemOut]
    created_at: LocalDatetime
    updated_at: LocalDatetime


class ConflictOut(BaseModel):
    reason: Literal["different_content", "stale_version", "unknown_version", "immutable_changed"]
    message: str
    server_version: int
    fields: list[str] = Field(description="与服务器内容不同的字段")


class SyncResult(BaseModel):
    client_id: uuid.UUID
    outcome: Literal["created", "duplicate", "updated", "conflict", "rejected"]
    visit: VisitOut | None = Field(default=None, description="服务器上的记录（冲突时为服务器版本，未被覆盖）")
    conflict: ConflictOut | None = None
    error: ErrorBody | None = None


class SyncOut(BaseModel):
    received_at: LocalDatetime
    skew_seconds: int = Field(description="手机时间减服务器收到的时间（秒）")
    clock_skewed: bool
    results: list[SyncResult]


class TagOut(BaseModel):
    code: str
    label: str
    category: str


class ReviewIn(Strict):
    decision: Literal["accept", "reject"]
    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None


CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", max_length=40)]


class ProblemReportIn(Strict):
    category: CategoryCode | None = Field(default=None, description="上报分类；不填按问题类型的默认分类")
    description: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = None
    photo_ids: Annotated[list[Id], Field(max_length=9), AfterValidator(_unique)] = Field(default_factory=list)


class ProblemReportOut(BaseModel):
    problem_id: int
    report_id: int
    reporter_id: int
    on_behalf: bool


class ProblemSolveIn(Strict):
    note: Note


# ------------------------------------------------------------------------------------------------ plan


class PlanItem(BaseModel):
    household_id: int
    label: str
    building_id: int
    status: Literal["overdue", "due", "done", "none"]
    status_label: str
    cadence: str | None = Field(description="走访频次，如 每周1次")
    due_by: LocalDatetime | None = Field(description="本轮应在此时间前走访")
    distance_m: int | None = Field(description="距您当前位置（米），提供位置时返回")
    lat: float | None = Field(description="楼栋位置")
    lng: float | None
    last_visited_at: LocalDatetime | None
    visits_in_slot: int
    attempts_in_slot: int = Field(description="本轮上门未遇的次数")


class PlanCounts(BaseModel):
    overdue: int
    due: int
    done: int
    none: int
    total: int


class RuleOut(BaseModel):
    name: str
    flags: list[str]
    per: Literal["week", "month"]
    times: int
    cadence: str


class PlanPolicy(BaseModel):
    community_id: int | None
    fence_m: int
    rules: list[RuleOut]


class PlanOut(BaseModel):
    as_of: LocalDatetime
    visitor_id: int
    counts: PlanCounts
    items: list[PlanItem]
    policies: list[PlanPolicy]


# ------------------------------------------------------------------------------------------------ assignments


class AssignIn(Strict):
    visitor_id: Id
    household_ids: Annotated[list[Id], Field(min_length=1, max_length=500), AfterValidator(_unique)]
    reason: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None


class AssignOut(BaseModel):
    assigned: int = Field(description="新分配的户数")
    moved: int = Field(description="从其他人改派过来的户数")
    unchanged: int = Field(description="本来就由该人员联系的户数")


class AssignmentOut(BaseModel):
    household_id: int
    household_label: str
    visitor_id: int
    visitor_name: str
    assigned_at: LocalDatetime
    assigned_by_id: int | None
    reason: str | None


class SpanOut(BaseModel):
    visitor_id: int
    visitor_name: str
    started_at: LocalDatetime
    ended_at: LocalDatetime | None
    assigned_by_id: int | None
    reason: str | None
    ended_by_id: int | None
    end_reason: str | None


# ------------------------------------------------------------------------------------------------ policies

FlagName = Literal["is_elderly", "is_living_alone", "is_disabled", "is_low_income", "is_hardship"]
assert set(FlagName.__args__) == set(FLAGS)  # type: ignore[attr-defined]


class RuleIn(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    flags: Annotated[list[FlagName], Field(max_length=5), AfterValidator(_unique)] = Field(default_factory=list)
    per: Literal["week", "month"]
    times: Annotated[int, Field(ge=1, le=8)]

    @model_validator(mode="after")
    def _times(self) -> RuleIn:
        if self.times > MAX_TIMES[self.per]:
            raise ValueError(f"{'每周' if self.per == 'week' else '每月'}最多 {MAX_TIMES[self.per]} 次")
        return self


class PolicyIn(Strict):
    rules: Annotated[list[RuleIn], Field(min_length=1, max_length=20)]
    fence_m: Annotated[int, Field(ge=20, le=5000, description="打卡位置距楼栋超过该距离即标记异常（米）")]
    version: Annotated[int | None, Field(ge=0, le=2**31, description="修改所基于的版本号（默认规则为 0）")] = None


class PolicyOut(BaseModel):
    community_id: int
    rules: list[RuleOut]
    fence_m: int
    version: int
    is_default: bool
