"""Notification kinds (a catalogue other domains extend) and labels shown to people."""

from __future__ import annotations

import re

from backend.models.notifications import DeliveryStatus, Urgency

__all__ = ["DeliveryStatus", "Urgency", "KINDS", "register_kind", "kind_label", "valid_kind"]

KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
_KIND_RE = re.compile(KIND_PATTERN)

ANNOUNCEMENT = "announcement"
DIGEST = "digest"

# kind -> label, shown in preferences (mute switches) and used by WeChat templates as ``{kind_label}``.
KINDS: dict[str, str] = {
    ANNOUNCEMENT: "社区通知",
    DIGEST: "免打扰期间的通知汇总",
}


def register_kind(kind: str, label: str) -> str:
    """Add a kind to the catalogue (call at import time of the domain that emits it); returns the kind."""
    if not valid_kind(kind):
        raise ValueError(f"bad notification kind {kind!r}")
    KINDS.setdefault(kind, label)
    return kind


def valid_kind(kind: str) -> bool:
    return len(kind) <= 48 and bool(_KIND_RE.fullmatch(kind))


def kind_label(kind: str) -> str:
    return KINDS.get(kind, kind)


STATUS_LABELS = {
    DeliveryStatus.PENDING: "待发送",
    DeliveryStatus.SENDING: "发送中",
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.UNCERTAIN: "可能已送达",
    DeliveryStatus.NO_TEMPLATE: "未配置微信模板",
    DeliveryStatus.DISABLED: "未启用微信通知",
    DeliveryStatus.NO_ACCOUNT: "未绑定微信",
    DeliveryStatus.NO_CONSENT: "订阅次数已用完",
    DeliveryStatus.REJECTED: "用户拒收",
    DeliveryStatus.INVALID: "消息内容不符合模板要求",
    DeliveryStatus.FAILED: "微信发送失败",
}

# Urgent items in these states may not have reached the person's phone: staff see them in
# /notifications/unreachable until the person reads the item or someone records a phone call.
UNREACHABLE = (
    DeliveryStatus.NO_TEMPLATE, DeliveryStatus.DISABLED, DeliveryStatus.NO_ACCOUNT, DeliveryStatus.NO_CONSENT,
    DeliveryStatus.REJECTED, DeliveryStatus.INVALID, DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN,
)
