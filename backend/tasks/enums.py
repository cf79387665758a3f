"""What the task domain registers and configures: notification kinds, the default help kinds a community
offers until its staff configure their own, and the waves of matching."""

from __future__ import annotations

from backend.notifications.enums import register_kind

OFFER = register_kind("tasks.offer", "附近有新的志愿任务")
WITHDRAWN = register_kind("tasks.withdrawn", "任务已被其他志愿者接单")
ACCEPTED = register_kind("tasks.accepted", "志愿者已接单")
PICKED_UP = register_kind("tasks.picked_up", "志愿者已取货")
HANDED_OVER = register_kind("tasks.handed_over", "爱心超市已确认取货，请尽快送达")  # to the volunteer
DELIVERED = register_kind("tasks.delivered", "服务已完成，请确认")
CONFIRMED = register_kind("tasks.confirmed", "服务已确认，时长已记入")
DROPPED = register_kind("tasks.dropped", "志愿者退单，正在重新派单")
CANCELLED = register_kind("tasks.cancelled", "任务已取消")
ESCALATED = register_kind("tasks.escalated", "任务无人接单，请协调")
LATE = register_kind("tasks.late", "任务超时未完成")

# code -> (name, skill that ranks a volunteer first)
DEFAULT_HELP_KINDS: dict[str, tuple[str, str | None]] = {
    "shopping": ("代购", "shopping"),
    "meals": ("送餐", "meals"),
    "escort": ("陪诊", "escort"),
    "garbage": ("清理垃圾", "cleaning"),
    "visit": ("上门探望", "visiting"),
    "supplies": ("送物资", "delivery"),
}

PAIRED_WAVE = 0  # the resident's 帮扶对子 volunteer, alone
# Waves 1…n: (radius in metres, how many volunteers). Each waits ``task_offer_wave_seconds`` for an accept,
# then the next goes wider; after the last, the grid worker is asked to step in.
WAVES: tuple[tuple[int, int], ...] = ((1500, 5), (3000, 10), (6000, 20), (10000, 40))
