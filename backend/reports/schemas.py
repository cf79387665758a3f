"""Request and response shapes of the reports API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.core.timeutil import LocalDatetime
from backend.models.reports import (
    Channel,
    DeliberationKind,
    DeliberationStatus,
    EvaluationKind,
    Level,
    RatingChannel,
    ReportStatus,
    WhistleStatus,
)

Id = Annotated[int, Field(gt=0, le=2**62)]


def _unique(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("不能重复")
    return values


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Photos = Annotated[
    list[Id],
    Field(max_length=9, description="照片 id（先上传到 /api/v1/media），最多 9 张"),
    AfterValidator(_unique),
]
Version = Annotated[
    int | None, Field(default=None, ge=1, le=2**31, description="客户端看到的版本号；已变化时返回 409")
]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", max_length=40)]

# wx.getLocation gives GCJ-02, which is only defined inside China.
CHINA_LAT = (3.5, 54.0)
CHINA_LNG = (73.0, 136.0)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Located(Strict):
    lat: Annotated[float | None, Field(ge=-90, le=90, description="纬度（GCJ-02）")] = None
    lng: Annotated[float | None, Field(ge=-180, le=180, description="经度（GCJ-02）")] = None

    @model_validator(mode="after")
    def _point(self) -> Located:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("经纬度需同时提供")
        if (
            self.lat is not None
            and self.lng is not None
            and not (CHINA_LAT[0] <= self.lat <= CHINA_LAT[1] and CHINA_LNG[0] <= self.lng <= CHINA_LNG[1])
        ):
            raise ValueError("位置不在服务范围内（应为中国境内的 GCJ-02 坐标）")
        return self


class ReportIn(Located):
    category: CategoryCode = Field(description="子类代码，见 GET /api/v1/reports/categories")
    description: Annotated[Text, StringConstraints(max_length=1000)]
    photo_ids: Photos = Field(default_factory=list)
    address: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None
    building_id: Id | None = None
    channel: Channel = Channel.APP
    resident_id: Id | None = Field(default=None, description="工作人员代居民上报时：居民的用户 id")
    visit_id: Id | None = Field(
        default=None,
        description="入户走访中发现的问题：走访记录 id（渠道须为 visit；走访人本人 7 天内，或辖区工作人员）。"
        "上报人为该住户的居民（没有账号时为走访人本人），住户为上报对象",
    )


class VersionIn(Strict):
    version: Version = None


class AcceptIn(VersionIn):
    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None


class RequestInfoIn(VersionIn):
    question: Annotated[Text, StringConstraints(max_length=500)]


class ProvideInfoIn(VersionIn):
    note: Annotated[Text, StringConstraints(max_length=1000)]
    photo_ids: Photos = Field(default_factory=list)


class ResolveIn(VersionIn):
    note: Annotated[Text, StringConstraints(max_length=1000)] = Field(description="给居民的办理结果")
    public_note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        default=None, description="在月度公示（晒）上显示的办理结果，不要写姓名、电话、门牌号"
    )
    photo_ids: Photos = Field(default_factory=list)


class EscalateIn(VersionIn):
    reason: Annotated[Text, StringConstraints(max_length=500)]


class ReassignIn(VersionIn):
    unit_id: Id = Field(description="改派到的网格、社区或街道（须在您的管辖范围内）")
    reason: Annotated[Text, StringConstraints(max_length=500)]


class MergeIn(VersionIn):
    into_report_id: Id
    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None


class WithdrawIn(VersionIn):
    reason: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None


class RateIn(VersionIn):
    score: Annotated[int, Field(ge=1, le=5, description="1–5 分；1–2 分会退回上一级重新办理")]
    comment: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None
    channel: RatingChannel = RatingChannel.APP


class EvaluationIn(Strict):
    kind: EvaluationKind
    score: Annotated[int, Field(ge=0, le=100)]
    comment: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None


class WhistleIn(Strict):
    department_ids: Annotated[list[Id], Field(min_length=1, max_length=10), AfterValidator(_unique)]
    note: Annotated[Text, StringConstraints(max_length=500)]
    deadline_hours: Annotated[int, Field(ge=1, le=720, description="几小时内办结")]


class ProgressIn(Strict):
    note: Annotated[Text, StringConstraints(max_length=1000)]
    done: bool = False
    photo_ids: Photos = Field(default_factory=list)


class DeliberationIn(Strict):
    kind: DeliberationKind
    topic: Annotated[Text, StringConstraints(max_length=200)]
    participants: Annotated[list[Annotated[Text, StringConstraints(max_length=32)]], Field(max_length=50)] = (
        Field(default_factory=list)
    )
    vote_options: Annotated[
        list[Annotated[Text, StringConstraints(max_length=40)]] | None, Field(min_length=2, max_length=6)
    ] = None
    vote_hours: Annotated[int | None, Field(ge=1, le=720)] = None

    @model_validator(mode="after")
    def _vote(self) -> DeliberationIn:
        if (self.vote_options is None) != (self.vote_hours is None):
            raise ValueError("表决选项和表决时长需同时提供")
        if self.vote_options and len(set(self.vote_options)) != len(self.vote_options):
            raise ValueError("表决选项不能重复")
        return self


class VoteIn(Strict):
    option: Annotated[Text, StringConstraints(max_length=40)]


class DecisionIn(Strict):
    minutes: Annotated[Text, StringConstraints(max_length=10000)]
    decision: Annotated[Text, StringConstraints(max_length=1000)]


# ------------------------------------------------------------------------------------------------ out


class SubCategoryOut(BaseModel):
    code: str
    name: str
    default_level: Level


class CategoryOut(BaseModel):
    code: str
    name: str
    default_level: Level
    children: list[SubCategoryOut]


class PersonOut(BaseModel):
    id: int
    name: str
    phone: str | None = Field(default=None, description="默认脱敏；?reveal=true 显示完整号码（留痕）")


class PhotoOut(BaseModel):
    id: int
    url: str


class ReportItem(BaseModel):
    id: int
    category: str
    category_name: str
    summary: str
    status: ReportStatus
    status_label: str
    level: Level
    level_label: str
    grid_name: str | None
    community_name: str | None
    due_at: LocalDatetime | None
    overdue: bool
    support_count: int
    created_at: LocalDatetime


class ReportOut(ReportItem):
    version: int
    description: str
    category_top_name: str
    channel: Channel
    lat: float | None
    lng: float | None
    address: str | None
    building_id: int | None
    photos: list[PhotoOut]
    responded_at: LocalDatetime | None
    resolved_at: LocalDatetime | None
    closed_at: LocalDatetime | None
    resolution_note: str | None
    public_note: str | None
    rating: int | None
    merged_into_id: int | None
    mine: bool = Field(description="我是上报人")
    can_handle: bool = Field(description="我可以受理 / 办结 / 上报该上报")
    # Staff only (None for the reporter's own view):
    reporter: PersonOut | None = None
    filed_by: PersonOut | None = None
    assignee: PersonOut | None = None
    was_overdue: bool | None = None
    escalations: int | None = None


class TimelineEvent(BaseModel):
    id: int
    action: str
    action_label: str
    from_status: ReportStatus | None
    to_status: ReportStatus | None
    from_level: Level | None
    to_level: Level | None
    note: str | None
    actor_label: str
    created_at: LocalDatetime
    photos: list[PhotoOut] = Field(default_factory=list)
    # Staff only:
    actor_id: int | None = None
    on_behalf_of_id: int | None = None
    public: bool | None = None
    data: dict[str, Any] | None = None


class SimilarOut(BaseModel):
    id: int
    category_name: str
    status_label: str
    distance_m: int = Field(description="大致距离（取整到 50 米）")
    support_count: int
    supported: bool
    created_on: str


class SupportOut(BaseModel):
    report_id: int
    support_count: int


class RatingOut(BaseModel):
    id: int
    report_id: int
    round: int
    score: int
    comment: str | None
    channel: RatingChannel
    reopened: bool
    created_at: LocalDatetime


class EvaluationOut(BaseModel):
    id: int
    report_id: int
    kind: EvaluationKind
    kind_label: str
    score: int
    comment: str | None
    subject_user_id: int | None
    created_at: LocalDatetime


class WhistleTargetOut(BaseModel):
    id: int
    report_id: int
    department_id: int
    department_name: str
    status: WhistleStatus
    status_label: str
    ack_due_at: LocalDatetime
    deadline: LocalDatetime
    acknowledged_at: LocalDatetime | None
    done_at: LocalDatetime | None
    late_ack: bool
    late: bool
    last_progress_at: LocalDatetime | None


class WhistleOut(BaseModel):
    id: int
    report_id: int
    note: str
    deadline: LocalDatetime
    created_at: LocalDatetime
    targets: list[WhistleTargetOut]


class DeliberationOut(BaseModel):
    id: int
    report_id: int
    kind: DeliberationKind
    kind_label: str
    topic: str
    status: DeliberationStatus
    participants: list[str]
    vote_options: list[str] | None
    vote_closes_at: LocalDatetime | None
    tally: dict[str, int] | None
    minutes: str | None
    decision: str | None
    decided_at: LocalDatetime | None
    created_at: LocalDatetime
    my_vote: str | None = None
