"""Bodies of /api/v1/tasks: help requests, the volunteer's task hall, the steps of a task and staff views."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.core.timeutil import LocalDatetime
from backend.models.tasks import TaskKind, TaskStatus

Id = Annotated[int, Field(gt=0, le=2**62)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lng = Annotated[float, Field(ge=-180, le=180)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelpKindOut(BaseModel):
    code: str
    name: str
    skill: str | None


class HelpKindIn(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=32)
    skill: str | None = Field(default=None, max_length=24)


class HelpKindsIn(Strict):
    community_id: Id
    kinds: list[HelpKindIn] = Field(min_length=1, max_length=50)


class HelpRequestIn(Strict):
    help_kind: Code
    note: str | None = Field(default=None, max_length=500)
    lat: Lat | None = None
    lng: Lng | None = None
    for_user_id: Id | None = Field(default=None, description="工作人员代居民发起（如电话求助）时填居民 id")


class BatchIn(Strict):
    """Raise one help task per household of a unit at once (e.g. supplies for every household in a lockdown)."""  # noqa: E501 - the text is the API description

    unit_id: Id
    help_kind: Code
    title: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)
    only: list[
        Annotated[
            str,
            StringConstraints(pattern="^(is_elderly|is_living_alone|is_disabled|is_low_income|is_hardship)$"),
        ]
    ] = Field(default_factory=list, description="只为带这些标记的住户发起（任一即可）；为空时为全部住户")
    household_ids: list[Id] | None = Field(default=None, max_length=5000)


class BatchOut(BaseModel):
    batch_key: str
    created: int
    task_ids: list[int]


class PositionIn(Strict):
    lat: Lat
    lng: Lng


class DeliverIn(Strict):
    lat: Lat
    lng: Lng
    photo_media_id: Id | None = Field(
        default=None, description="送达照片（可选）：先上传到 /api/v1/media，填本人上传、尚未使用的图片 id"
    )
    note: str | None = Field(default=None, max_length=200)


class ReasonIn(Strict):
    reason: str | None = Field(default=None, max_length=200)


class OfferToIn(Strict):
    volunteer_id: Id


class TaskOut(BaseModel):
    id: int
    kind: TaskKind
    help_kind: str | None
    title: str
    note: str | None
    status: TaskStatus
    status_label: str
    is_late: bool
    due_at: LocalDatetime
    created_at: LocalDatetime
    order_id: int | None
    store_id: int | None
    community_id: int | None
    place: str | None = Field(description="大致位置（社区、小区）")
    address: str | None = Field(default=None, description="门牌地址：仅接单志愿者、本人和工作人员可见")
    requester_id: int | None
    requester_name: str | None
    volunteer_id: int | None
    distance_m: int | None = Field(default=None, description="与我的距离（任务大厅）或取货点到住户的距离")
    round: int
    wave: int
    escalated: bool
    accepted_at: LocalDatetime | None
    picked_up_at: LocalDatetime | None
    delivered_at: LocalDatetime | None
    confirmed_at: LocalDatetime | None
    photo_media_id: int | None
    photo_url: str | None = Field(
        default=None,
        description="送达照片的签名链接（约 15 分钟有效）：只在任务详情里给接单志愿者、本人及家人和工作人员",
    )


class TaskEventOut(BaseModel):
    action: str
    from_status: TaskStatus | None
    to_status: TaskStatus
    actor_id: int | None
    on_behalf_of_id: int | None
    volunteer_id: int | None
    reason: str | None
    created_at: LocalDatetime
