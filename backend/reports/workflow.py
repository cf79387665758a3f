"""The report workflow as an explicit transition table (说 → 办 → 评).

::

    submitted ──accept──▶ accepted ──request_info──▶ need_info ──provide_info──▶ accepted
    submitted|accepted ──resolve──▶ resolved ──close (rating 3–5)──▶ closed
                                    resolved ──reopen (rating 1–2)──▶ submitted, one level up
                                    resolved ──auto_close (nobody rated)──▶ closed
    submitted|accepted ──escalate / auto_escalate / reassign──▶ submitted (another level or unit)
    submitted|accepted ──overdue──▶ (unchanged: the street level's clock ran out, nothing above it)
    submitted|accepted|need_info ──merge──▶ merged          submitted|need_info ──withdraw──▶ withdrawn

Every edge is one function below; each runs ``_apply``, which refuses an edge the table does not allow from the
current status (``InvalidTransition``, 409), moves the report with one conditional UPDATE on (id, status,
version) so that of two racing changes exactly one wins (the other gets ``ReportChanged``, 409), writes the
history row, and schedules the clock of the new state as an outbox event. Callers hold ``atomic()`` and check
who may act; this module only knows states.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.core.errors import InvalidTransition
from backend.core.timeutil import utcnow
from backend.models.reports import Channel, Clock, Level, Report, ReportEvent, ReportStatus
from backend.outbox import service as outbox
from backend.reports import repository
from backend.reports.categories import Category, taxonomy
from backend.reports.exceptions import ReportChanged

S = ReportStatus
CLOCK_EVENT = "reports.clock"


@dataclass(frozen=True)
class Edge:
    sources: frozenset[ReportStatus]
    target: ReportStatus | None  # None: the status stays (a marker on the timeline, the version still moves)
    label: str
    public: bool = True


def _edge(sources: set[ReportStatus], target: ReportStatus | None, label: str, public: bool = True) -> Edge:
    return Edge(frozenset(sources), target, label, public)


TABLE: dict[str, Edge] = {
    "accept": _edge({S.SUBMITTED}, S.ACCEPTED, "已受理"),
    "request_info": _edge({S.ACCEPTED}, S.NEED_INFO, "请您补充信息"),
    "provide_info": _edge({S.NEED_INFO}, S.ACCEPTED, "已补充信息"),
    "resolve": _edge({S.SUBMITTED, S.ACCEPTED}, S.RESOLVED, "已办结"),
    "escalate": _edge({S.SUBMITTED, S.ACCEPTED}, S.SUBMITTED, "上报上一级办理"),
    "auto_escalate": _edge({S.SUBMITTED, S.ACCEPTED}, S.SUBMITTED, "超时，自动上报上一级"),
    "overdue": _edge({S.SUBMITTED, S.ACCEPTED}, None, "已超时", public=False),
    "reassign": _edge({S.SUBMITTED, S.ACCEPTED}, S.SUBMITTED, "已改派"),
    "merge": _edge({S.SUBMITTED, S.ACCEPTED, S.NEED_INFO}, S.MERGED, "与相同问题合并办理"),
    "withdraw": _edge({S.SUBMITTED, S.NEED_INFO}, S.WITHDRAWN, "已撤回"),
    "close": _edge({S.RESOLVED}, S.CLOSED, "已评价，结案"),
    "reopen": _edge({S.RESOLVED}, S.SUBMITTED, "评价不满意，退回上一级重新办理"),
    "auto_close": _edge({S.RESOLVED}, S.CLOSED, "逾期未评价，自动结案"),
}
# Timeline rows that are not transitions (the status does not change).
NOTE_LABELS = {
    "submit": "提交上报",
    "merged_in": "合并了相同问题的上报",
    "whistle": "吹哨，通知相关部门报到",
    "whistle_ack": "部门已报到",
    "whistle_progress": "部门反馈进展",
    "whistle_late": "部门超时",
    "deliberation_opened": "发起议事",
    "deliberation_decided": "议事形成决定",
    "evaluation": "组织评价",
}


def label(action: str) -> str:
    edge = TABLE.get(action)
    return edge.label if edge else NOTE_LABELS.get(action, action)


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None: the system (a clock)
    on_behalf_of: int | None = None


SYSTEM = Actor(None)


def require(report: Report, action: str) -> Edge:
    """The edge, if the table allows it from the report's current status; InvalidTransition otherwise."""
    edge = TABLE.get(action)
    current = S(report.status)
    if edge is None or current not in edge.sources:
        raise InvalidTransition(
            f"上报当前为“{current.label}”，不能{label(action)}",
            detail={
                "action": action,
                "status": current.value,
                "allowed_from": sorted(s.value for s in edge.sources) if edge else [],
            },
        )
    return edge


def category_of(report: Report) -> Category:
    found = taxonomy().get(report.category)
    if found is None:  # a code removed from the taxonomy after the report was filed: fall back to 其他
        found = taxonomy().get("other.other") or next(iter(taxonomy().by_code.values()))
    return found


def _accept_clock(report: Report, level: Level, now: datetime) -> dict[str, Any]:
    return {
        "clock": Clock.ACCEPT,
        "due_at": now + category_of(report).clock(level).accept,
        "paused_seconds": None,
    }


def _no_clock() -> dict[str, Any]:
    return {"clock": None, "due_at": None, "paused_seconds": None}


async def schedule(report: Report, *, new: bool = False) -> None:
    """The outbox timer of the report's running clock; the version in it makes a stale timer a no-op. A new
    report cannot have a timer yet, so its first one skips the dedupe key (and its extra round trips)."""
    if report.clock is not None and report.due_at is not None:
        await outbox.enqueue(
            CLOCK_EVENT,
            {"report_id": report.id, "version": report.version, "clock": Clock(report.clock).value},
            run_at=report.due_at,
            dedupe_key=None if new else f"{CLOCK_EVENT}:{report.id}:{report.version}",
        )


async def event(
    report: Report,
    action: str,
    *,
    actor: Actor,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    public: bool = True,
    transition: bool = False,
    from_status: ReportStatus | None = None,
    from_level: Level | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    """One timeline row (transitions pass ``transition=True`` and where they came from)."""
    return await ReportEvent.create(
        report_id=report.id,
        action=action,
        actor_id=actor.user_id,
        on_behalf_of_id=actor.on_behalf_of,
        from_status=from_status.value if from_status else None,
        to_status=S(report.status).value,
        from_level=from_level.value if from_level else None,
        to_level=Level(report.level).value,
        note=note,
        data=data,
        public=public,
        transition=transition,
        created_at=now or utcnow(),
    )


async def _apply(
    report: Report,
    action: str,
    *,
    actor: Actor,
    changes: dict[str, Any],
    now: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Report:
    edge = require(report, action)
    current, level = S(report.status), Level(report.level)
    values = {**changes, "status": edge.target or current, "version": report.version + 1, "updated_at": now}
    won = await Report.filter(id=report.id, status=current, version=report.version).update(**values)
    if not won:
        raise ReportChanged(detail={"action": action})
    for key, value in values.items():
        setattr(report, key, value)
    await event(
        report,
        action,
        actor=actor,
        note=note,
        data=data,
        public=edge.public,
        transition=True,
        from_status=current,
        from_level=level,
        now=now,
    )
    await schedule(report)
    return report


# ------------------------------------------------------------------------------------------------ the edges


async def submit(
    fields: dict[str, Any],
    *,
    category: Category,
    level: Level,
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> Report:
    """说: a new report, in ``submitted`` at ``level`` with its accept clock running (``data`` joins the
    history row's: where the position came from, the visit it was found on). On PostgreSQL the service files a
    report in one statement instead (``backend/reports/submission.py``), from the same ``new_report``."""
    values, history = new_report(fields, category=category, level=level, data=data)
    report = await repository.insert_submitted(
        values, actor_id=actor.user_id, on_behalf_of_id=actor.on_behalf_of, data=history
    )
    await schedule(report, new=True)
    return report


# the columns every new report starts with (``submission`` writes them as literals)
NEW_REPORT_CONSTANTS: dict[str, Any] = {
    "status": S.SUBMITTED,
    "version": 1,
    "clock": Clock.ACCEPT,
    "was_overdue": False,
    "escalations": 0,
    "round": 0,
    "support_count": 0,
}


def new_report(
    fields: dict[str, Any], *, category: Category, level: Level, data: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns of a new report and the data of its ``submit`` history row."""
    now = utcnow()
    due = now + category.clock(level).accept
    values = {
        **fields,
        "category": category.code,
        "category_top": category.top_code,
        **NEW_REPORT_CONSTANTS,
        "level": level,
        "due_at": due,
        "response_due_at": due,
        "created_at": now,
        "updated_at": now,
    }
    history = {
        "channel": Channel(fields["channel"]).value,
        "photo_ids": list(fields.get("photo_ids") or []),
        **(data or {}),
    }
    return values, history


async def accept(report: Report, *, actor: Actor, note: str | None) -> Report:
    now = utcnow()
    resolve_in = category_of(report).clock(Level(report.level)).resolve
    return await _apply(
        report,
        "accept",
        actor=actor,
        now=now,
        note=note,
        changes={
            "assignee_id": actor.user_id,
            "responded_at": report.responded_at or now,
            "clock": Clock.RESOLVE,
            "due_at": now + resolve_in,
            "paused_seconds": None,
        },
    )


async def request_info(report: Report, *, actor: Actor, question: str) -> Report:
    """The resolve clock pauses while the reporter is asked for more; what was left of it is kept."""
    now = utcnow()
    left = max(0, int((report.due_at - now).total_seconds())) if report.due_at else 0
    return await _apply(
        report,
        "request_info",
        actor=actor,
        now=now,
        note=question,
        changes={**_no_clock(), "paused_seconds": left},
    )


async def provide_info(report: Report, *, actor: Actor, note: str, photo_ids: list[int]) -> Report:
    now = utcnow()
    left = timedelta(seconds=max(report.paused_seconds or 0, 3600))  # at least an hour to read the answer
    return await _apply(
        report,
        "provide_info",
        actor=actor,
        now=now,
        note=note,
        data={"photo_ids": photo_ids},
        changes={"clock": Clock.RESOLVE, "due_at": now + left, "paused_seconds": None},
    )


async def resolve(
    report: Report, *, actor: Actor, note: str, public_note: str | None, photo_ids: list[int]
) -> Report:
    now = utcnow()
    return await _apply(
        report,
        "resolve",
        actor=actor,
        now=now,
        note=note,
        data={"photo_ids": photo_ids},
        changes={
            "resolved_at": now,
            "resolution_note": note,
            "public_note": public_note,
            "responded_at": report.responded_at or now,
            "assignee_id": report.assignee_id or actor.user_id,
            "clock": Clock.CLOSE,
            "due_at": now + taxonomy().auto_close,
            "paused_seconds": None,
        },
    )


def _up(report: Report, action: str) -> Level:
    up = Level(report.level).up
    if up is None:
        raise InvalidTransition(
            "已在街道层级办理，没有更上一级", detail={"action": action, "level": report.level}
        )
    return up


async def escalate(report: Report, *, actor: Actor, reason: str) -> Report:
    now, up = utcnow(), _up(report, "escalate")
    return await _apply(
        report,
        "escalate",
        actor=actor,
        now=now,
        note=reason,
        changes={
            "level": up,
            "assignee_id": None,
            "escalations": report.escalations + 1,
            **_accept_clock(report, up, now),
        },
    )


async def auto_escalate(report: Report, *, clock: Clock) -> Report:
    now, up = utcnow(), _up(report, "auto_escalate")
    return await _apply(
        report,
        "auto_escalate",
        actor=SYSTEM,
        now=now,
        data={"clock": clock.value},
        changes={
            "level": up,
            "assignee_id": None,
            "escalations": report.escalations + 1,
            "was_overdue": True,
            **_accept_clock(report, up, now),
        },
    )


async def mark_overdue(report: Report, *, clock: Clock) -> Report:
    """The top level's clock ran out: nothing to escalate to, so it is marked and its clock stops."""
    now = utcnow()
    return await _apply(
        report,
        "overdue",
        actor=SYSTEM,
        now=now,
        data={"clock": clock.value},
        changes={"was_overdue": True, "clock": None, "paused_seconds": None},
    )


async def reassign(
    report: Report, *, actor: Actor, level: Level, columns: dict[str, int | None], reason: str, unit_id: int
) -> Report:
    now = utcnow()
    return await _apply(
        report,
        "reassign",
        actor=actor,
        now=now,
        note=reason,
        data={"unit_id": unit_id},
        changes={**columns, "level": level, "assignee_id": None, **_accept_clock(report, level, now)},
    )


async def merge(report: Report, *, into: Report, actor: Actor, note: str | None) -> Report:
    now = utcnow()
    return await _apply(
        report,
        "merge",
        actor=actor,
        now=now,
        note=note,
        data={"into_report_id": into.id},
        changes={"merged_into_id": into.id, "closed_at": now, **_no_clock()},
    )


async def withdraw(report: Report, *, actor: Actor, reason: str | None) -> Report:
    now = utcnow()
    return await _apply(
        report, "withdraw", actor=actor, now=now, note=reason, changes={"closed_at": now, **_no_clock()}
    )


async def close(report: Report, *, actor: Actor, score: int, comment: str | None, rating_id: int) -> Report:
    now = utcnow()
    return await _apply(
        report,
        "close",
        actor=actor,
        now=now,
        note=comment,
        data={"score": score, "rating_id": rating_id},
        changes={"rating": score, "closed_at": now, **_no_clock()},
    )


async def reopen(report: Report, *, actor: Actor, score: int, comment: str | None, rating_id: int) -> Report:
    """A rating of 1–2: back to ``submitted`` one level up (the street level reopens at the street)."""
    now = utcnow()
    up = Level(report.level).up or Level(report.level)
    return await _apply(
        report,
        "reopen",
        actor=actor,
        now=now,
        note=comment,
        data={"score": score, "rating_id": rating_id},
        changes={
            "level": up,
            "rating": score,
            "round": report.round + 1,
            "resolved_at": None,
            "assignee_id": None,
            "escalations": report.escalations + (up != report.level),
            **_accept_clock(report, up, now),
        },
    )


async def auto_close(report: Report) -> Report:
    now = utcnow()
    return await _apply(
        report, "auto_close", actor=SYSTEM, now=now, changes={"closed_at": now, **_no_clock()}
    )
