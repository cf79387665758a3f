"""What a visit can find (tags, each with the report category one tap files it under), the flags a check-in can
carry, who plays which part, and the notification kinds of this domain."""

from __future__ import annotations

from dataclasses import dataclass

from backend.models.user import Role
from backend.notifications.enums import register_kind


@dataclass(frozen=True)
class Tag:
    code: str
    label: str
    category: str  # the report sub-category a found problem is filed under by default


TAGS: dict[str, Tag] = {t.code: t for t in (
    Tag("hardship", "生活困难", "policy.subsidy"),
    Tag("dispute", "矛盾纠纷", "neighbours.space"),
    Tag("safety", "安全隐患", "safety.fire"),
    Tag("policy", "政策诉求", "policy.social_security"),
    Tag("care", "照护需求", "care.elderly"),
    Tag("housing", "房屋设施", "property.leak"),
    Tag("environment", "环境卫生", "sanitation.litter"),
    Tag("other", "其他问题", "other.other"),
)}
TAG_PATTERN = "^(" + "|".join(TAGS) + ")$"

# Flags a check-in can carry (``Visit.flags``): kept, shown with their numbers, never dropped.
FLAG_LABELS = {
    "out_of_fence": "不在住户楼栋附近",
    "low_accuracy": "定位精度不足",
    "no_position": "未提供定位",
    "unplaced_building": "楼栋未标注位置，无法核对",
    "clock_skew": "手机时间与服务器不一致",
    "future_time": "走访时间晚于提交时间",
    "late_sync": "离线时间过长才上传",
    "month_submitted": "所在月份的台账已提交",
}

VISITOR_ROLES = (Role.PARTY_MEMBER, Role.GRID_WORKER, Role.GRID_LEADER)
# Staff who may visit any household in their scope and read visits there.
FIELD_STAFF = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
# Who assigns households, reviews flagged visits and approves 台账.
MANAGERS = (Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
# Who sets a community's policy.
POLICY_EDITORS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)

ASSIGNED = register_kind("visits.assigned", "联系户分配")
DUE = register_kind("visits.due", "入户走访提醒")
MONTH_DUE = register_kind("visits.month_due", "走访台账提交提醒")
MONTH_SUBMITTED = register_kind("visits.month_submitted", "走访台账待审核")
MONTH_RETURNED = register_kind("visits.month_returned", "走访台账被退回")
MONTH_APPROVED = register_kind("visits.month_approved", "走访台账已通过")
