"""Request and response bodies of the ledger routes. Hours travel as whole minutes, points as whole points."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.core.timeutil import LocalDatetime
from backend.ledger.rules import ALLOWANCE_FLAGS, TaskKind
from backend.models.ledger import AwardStatus, Currency, OwnerKind, TransferKind

Minutes = Annotated[int, Field(ge=1, le=24 * 60, description="分钟（整数）")]
Points = Annotated[int, Field(ge=1, le=1_000_000, description="积分（整数）")]
Amount = Annotated[int, Field(ge=1, le=1_000_000, description="分钟或积分（整数）")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$",
                           description="客户端生成的请求编号：同一编号只记账一次")]
Reason = Annotated[str, Field(min_length=1, max_length=120)]
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # a calendar month, e.g. 2026-11
RELATIONS = ("父母", "配偶", "子女", "祖父母", "外祖父母", "孙子女", "兄弟姐妹", "其他亲属")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryOut(BaseModel):
    account_id: int
    owner_kind: OwnerKind
    owner_id: int
    currency: Currency
    amount: int
    balance_after: int


class TransferOut(BaseModel):
    id: int
    kind: TransferKind
    kind_label: str
    reason: str
    actor_id: int | None
    link_type: str | None
    link_id: str | None
    reverses_id: int | None
    community_id: int | None
    created_at: LocalDatetime
    entries: list[EntryOut]
    replayed: bool = Field(False, description="该请求编号此前已记账，这是原来那笔")


class AccountOut(BaseModel):
    id: int
    owner_kind: OwnerKind
    owner_id: int
    owner_name: str | None
    currency: Currency
    balance: int
    min_balance: int | None = Field(description="余额下限（负数表示可透支额度；空表示发行账户不设下限）")
    earned: int = Field(description="累计志愿服务时长（分钟，只计服务和活动）")
    community_id: int | None


class Summary(BaseModel):
    currency: Currency
    account_id: int | None
    balance: int
    min_balance: int


class MyLedger(BaseModel):
    hours: Summary
    points: Summary
    earned_minutes: int
    stars: int = Field(description="奉献嘉评星级（按累计服务时长）")
    next_star_hours: int | None
    gift_cap_minutes: int
    gift_used_minutes: int = Field(description="本年度已转赠家人的分钟数")
    show_on_leaderboard: bool


class StatementLine(BaseModel):
    entry_id: int
    transfer_id: int
    kind: TransferKind
    kind_label: str
    reason: str
    link_type: str | None
    link_id: str | None
    amount: int
    balance_after: int
    created_at: LocalDatetime


class KindTotal(BaseModel):
    kind: TransferKind
    kind_label: str
    credits: int
    debits: int
    count: int


class MonthlyStatement(BaseModel):
    account_id: int | None
    currency: Currency
    month: str
    opening_balance: int
    closing_balance: int
    credits: int
    debits: int
    by_kind: list[KindTotal]


class GiftIn(Strict):
    to_phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="家人注册时用的手机号")
    minutes: Minutes
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    idempotency_key: Key


class RedemptionIn(Strict):
    store_id: int = Field(gt=0, le=2**62)
    points: Points
    note: str | None = Field(None, max_length=120)
    idempotency_key: Key


class RedemptionPreviewOut(BaseModel):
    balance: int
    min_balance: int
    points: int
    balance_after: int
    enough: bool
    shortfall: int


class PreferencesIn(Strict):
    show_on_leaderboard: bool


class EarningKind(StrEnum):
    SERVICE = "earn_service"
    ACTIVITY = "earn_activity"


class EarningIn(Strict):
    user_id: int = Field(gt=0, le=2**62)
    community_id: int | None = Field(None, gt=0, le=2**62, description="不填则用该人员所属社区")
    kind: EarningKind
    minutes: Minutes | None = Field(None, description="不填则按社区规则计算（志愿服务）")
    task_kind: TaskKind = TaskKind.HELP
    distance_m: int | None = Field(None, ge=0, le=100_000)
    task_id: int | None = Field(None, gt=0, le=2**62, description="关联任务：同一任务每人只计一次")
    activity_id: int | None = Field(None, gt=0, le=2**62, description="关联活动：同一活动每人只计一次")
    reason: Reason | None = None
    idempotency_key: Key


class AwardIn(Strict):
    user_id: int = Field(gt=0, le=2**62)
    community_id: int | None = Field(None, gt=0, le=2**62)
    currency: Currency
    amount: Amount
    reason: Reason
    idempotency_key: Key


class PendingAwardOut(BaseModel):
    id: int
    recipient_id: int
    currency: Currency
    amount: int
    reason: str
    requested_by_id: int
    status: AwardStatus
    decided_by_id: int | None
    decided_at: LocalDatetime | None
    decision_note: str | None
    transfer_id: int | None
    community_id: int | None
    created_at: LocalDatetime


class AwardResult(BaseModel):
    status: Literal["posted", "pending"]
    transfer: TransferOut | None = None
    pending: PendingAwardOut | None = None


class DecisionIn(Strict):
    note: str | None = Field(None, max_length=120)


class ReversalIn(Strict):
    reason: Reason


class StoreIn(Strict):
    store_id: int = Field(gt=0, le=2**62, description="爱心超市在超市模块中的编号")
    community_id: int = Field(gt=0, le=2**62)
    name: str = Field(min_length=1, max_length=64)


class RulesIn(Strict):
    delivery_base_minutes: int = Field(ge=0, le=1440)
    delivery_minutes_per_km: int = Field(ge=0, le=600)
    help_base_minutes: int = Field(ge=0, le=1440)
    help_minutes_per_km: int = Field(ge=0, le=600)
    max_minutes_per_task: int = Field(ge=1, le=1440)
    points_per_hour: int = Field(ge=0, le=10_000)
    allowance_points: dict[str, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, description="住户标记 → 每月积分：is_elderly 高龄、is_living_alone 空巢、"
        "is_disabled 残疾、is_low_income 低保、is_hardship 困难")
    allowance_max_points: int = Field(ge=0, le=100_000)
    gift_yearly_cap_minutes: int = Field(ge=0, le=1_000_000)
    expiry_years: int | None = Field(None, ge=1, le=50, description="空：时长永不过期")
    credit_limit_minutes: int = Field(ge=0, le=100_000)
    credit_limit_points: int = Field(ge=0, le=100_000)
    award_threshold_minutes: int = Field(ge=0, le=1_000_000)
    award_threshold_points: int = Field(ge=0, le=1_000_000)
    star_thresholds_hours: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(max_length=10)

    @field_validator("allowance_points")
    @classmethod
    def _known_flags(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ALLOWANCE_FLAGS))
        if unknown:
            raise ValueError(f"未知的住户标记：{'、'.join(unknown)}")
        return value

    @field_validator("star_thresholds_hours")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if value != sorted(set(value)):
            raise ValueError("星级门槛应从小到大且不重复")
        return value


class RulesOut(RulesIn):
    community_id: int


class LeaderboardRow(BaseModel):
    rank: int
    user_id: int
    name: str
    minutes: int
    stars: int


class Leaderboard(BaseModel):
    unit_id: int
    unit_name: str
    period: str
    rows: list[LeaderboardRow]


class Period(StrEnum):
    ALL = "all"
    YEAR = "year"
    MONTH = "month"

