"""What a check-in is checked against: the household's building (geofence) and the server's clock.

Nothing here rejects a visit. A check that fails adds a flag carrying its numbers, the visit is kept and marked
``flagged``, and a grid leader can accept or reject it on review (docs/adr/0018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.core.timeutil import to_local
from backend.visits.enums import FLAG_LABELS

EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Position:
    distance_m: float | None
    out_of_fence: bool
    flags: list[dict[str, Any]] = field(default_factory=list)


def position(lat: float | None, lng: float | None, accuracy_m: float | None, *, building_lat: float | None,
             building_lng: float | None, building_id: int, fence_m: int) -> Position:
    """Distance to the building; out of the fence when farther than ``fence_m`` (the accuracy is reported, not
    subtracted: a 2 km accuracy circle must not pass every check-in)."""
    if lat is None or lng is None:
        return Position(None, False, [{"code": "no_position", "fence_m": fence_m}])
    if building_lat is None or building_lng is None:
        return Position(None, False, [{"code": "unplaced_building", "building_id": building_id}])
    distance = round(distance_m(lat, lng, building_lat, building_lng), 1)
    flags: list[dict[str, Any]] = []
    out = distance > fence_m
    if out:
        flags.append({"code": "out_of_fence", "distance_m": round(distance), "fence_m": fence_m,
                      "accuracy_m": None if accuracy_m is None else round(accuracy_m)})
    if accuracy_m is not None and accuracy_m > fence_m:
        flags.append({"code": "low_accuracy", "accuracy_m": round(accuracy_m), "fence_m": fence_m})
    return Position(distance, out, flags)


@dataclass
class Timing:
    effective_at: datetime
    skew_seconds: int | None
    flags: list[dict[str, Any]] = field(default_factory=list)


def skew_of(sent_at: datetime | None, received_at: datetime) -> int | None:
    """Phone clock minus server clock, in whole seconds (None when the phone did not say when it sent)."""
    return None if sent_at is None else round((sent_at - received_at).total_seconds())


def timing(visited_at: datetime, *, sent_at: datetime | None, received_at: datetime, skew_limit_s: int,
           late_after: timedelta) -> Timing:
    """When the visit counts: the phone's time, corrected by the measured skew when the skew is beyond the limit,
    and never later than the server received it."""
    skew = skew_of(sent_at, received_at)
    flags: list[dict[str, Any]] = []
    effective = visited_at
    if skew is not None and abs(skew) > skew_limit_s:
        effective = visited_at - timedelta(seconds=skew)
        flags.append({"code": "clock_skew", "skew_seconds": skew, "threshold_seconds": skew_limit_s,
                      "client_sent_at": _iso(sent_at), "server_received_at": _iso(received_at),
                      "visited_at": _iso(visited_at), "corrected_to": _iso(effective)})
    if effective > received_at:
        ahead = round((effective - received_at).total_seconds())
        if ahead > skew_limit_s:
            flags.append({"code": "future_time", "ahead_seconds": ahead, "visited_at": _iso(visited_at),
                          "server_received_at": _iso(received_at)})
        effective = received_at
    delay = received_at - effective
    if delay > late_after:
        flags.append({"code": "late_sync", "delay_hours": round(delay.total_seconds() / 3600, 1),
                      "limit_hours": round(late_after.total_seconds() / 3600, 1)})
    return Timing(effective, skew, flags)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat(timespec="seconds")


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} 天"] * bool(days) + [f"{hours} 小时"] * bool(hours) + [f"{minutes} 分"] * bool(minutes)
    return " ".join(parts) or f"{seconds} 秒"


def describe(flag: dict[str, Any]) -> str:
    """A sentence for people, with the flag's numbers."""
    code = flag.get("code")
    if code == "out_of_fence":
        accuracy = f"，定位精度 {flag['accuracy_m']} 米" if flag.get("accuracy_m") is not None else ""
        return f"打卡位置距住户楼栋 {flag['distance_m']} 米，超出 {flag['fence_m']} 米范围{accuracy}"
    if code == "low_accuracy":
        return f"定位精度 {flag['accuracy_m']} 米，大于 {flag['fence_m']} 米的打卡范围，位置不可靠"
    if code == "no_position":
        return "打卡时没有提供定位，无法核对是否到户"
    if code == "unplaced_building":
        return "住户所在楼栋还没有标注经纬度，无法核对打卡位置"
    if code == "clock_skew":
        way = "快" if flag["skew_seconds"] > 0 else "慢"
        return (f"手机时间比服务器{way} {_duration(flag['skew_seconds'])}（{flag['skew_seconds']} 秒，"
                f"超过 {flag['threshold_seconds']} 秒），走访时间已按服务器时间校正为 {flag['corrected_to']}")
    if code == "future_time":
        return f"走访时间比服务器收到的时间晚 {_duration(flag['ahead_seconds'])}，已按收到时间计"
    if code == "late_sync":
        return f"走访后 {flag['delay_hours']} 小时才上传（超过 {flag['limit_hours']} 小时）"
    if code == "month_submitted":
        return f"{flag['month']} 的走访台账已提交，这条记录是提交后才上传的"
    return FLAG_LABELS.get(str(code), str(code))
