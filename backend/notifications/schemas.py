"""Bodies of /api/v1/notifications/* and the frames of /api/v1/ws."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.core.pagination import Page
from backend.core.timeutil import LocalDatetime
from backend.models.notifications import ConsentChoice, DeliveryStatus, Urgency
from backend.notifications.enums import KIND_PATTERN

LINK_PATTERN = r"^/?[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)+(\?[A-Za-z0-9_=&%.,-]*)?$"
TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

Kind = Annotated[str, StringConstraints(pattern=KIND_PATTERN, max_length=48)]
Link = Annotated[str, StringConstraints(pattern=LINK_PATTERN, max_length=200)]
TemplateId = Annotated[str, StringConstraints(pattern=TEMPLATE_ID_PATTERN)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InboxItemOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str | None
    urgency: Urgency
    silent: bool = Field(description="免打扰期间或已屏蔽的类型：不弹出提醒，次日汇总")
    data: dict[str, Any]
    created_at: LocalDatetime
    read_at: LocalDatetime | None


class InboxPage(Page[InboxItemOut]):
    unread: int


class UnreadCount(BaseModel):
    unread: int
    urgent_unread: int


class ReadAllIn(Strict):
    up_to: int | None = Field(default=None, gt=0, le=2**62, description="只标记不晚于这一条的通知（列表顶部的 id）")


class ReadAllOut(BaseModel):
    updated: int


class QuietHours(Strict):
    start: Clock = Field(description="开始，北京时间 HH:MM")
    end: Clock = Field(description="结束，北京时间 HH:MM（可跨零点）")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("开始和结束不能相同")
        return self


class PreferencesIn(Strict):
    muted_kinds: list[Kind] = Field(default_factory=list, max_length=50, description="不再提醒的类型（紧急通知除外）")
    quiet_hours: QuietHours | None = None


class KindOut(BaseModel):
    kind: str
    label: str


class PreferencesOut(BaseModel):
    muted_kinds: list[str]
    quiet_hours: QuietHours | None
    kinds: list[KindOut]


class TemplateOut(BaseModel):
    kind: str
    kind_label: str
    template_id: str


class SubscriptionsIn(Strict):
    results: dict[TemplateId, ConsentChoice] = Field(
        min_length=1, max_length=10,
        description="wx.requestSubscribeMessage 的结果：模板 id → accept / reject / ban / filter（不含 errMsg）",
    )


class SubscriptionsOut(BaseModel):
    remaining: dict[str, int] = Field(description="每个模板还可以发送的次数")


class PresenceIn(Strict):
    available: bool
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> PresenceIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("经纬度需要同时提供")
        return self


class PresenceOut(BaseModel):
    available: bool
    lat: float | None
    lng: float | None
    updated_at: LocalDatetime | None


class Audience(StrEnum):
    RESIDENTS = "residents"
    STAFF = "staff"
    VOLUNTEERS = "volunteers"
    EVERYONE = "everyone"


class AnnouncementIn(Strict):
    unit_id: int = Field(gt=0, le=2**62)
    audience: Audience
    title: str = Field(min_length=1, max_length=64)
    body: str = Field(default="", max_length=1000)
    link: Link | None = None
    urgency: Urgency = Urgency.NORMAL


class AnnouncementOut(BaseModel):
    event_id: int
    recipients: int


class UnreachableOut(BaseModel):
    delivery_id: int
    item_id: int
    user_id: int
    user_name: str
    phone_masked: str | None
    kind: str
    kind_label: str
    title: str
    status: DeliveryStatus
    reason: str
    last_error: str | None
    created_at: LocalDatetime
    resolved_at: LocalDatetime | None
    resolution_note: str | None


class ResolveIn(Strict):
    note: str = Field(min_length=1, max_length=200, description="如：已电话通知本人")
