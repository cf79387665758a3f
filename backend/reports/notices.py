"""Who hears about a report, and what they read. Every function calls ``notify`` and must run inside the
caller's ``atomic()`` block, so notices commit (or vanish) with the change they describe.

- new report → the handling unit's team (the grid's workers and leaders; community or street staff above);
- escalation (manual, automatic, or a bad rating reopening it) → the next level, and the previous handlers
  when it was automatic;
- whistle → the summoned departments (their staff on duty); late departments → again, and the whistle-blower;
- status changes → the reporter (a WeChat subscribe message where they granted one);
- overdue → the handlers and their supervisors (the level above; street staff at the top).
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.models.notifications import Urgency
from backend.models.org import OrgLevel
from backend.models.reports import Level, Report, ReportStatus, WhistleTarget
from backend.models.user import Role
from backend.notifications import recipients
from backend.notifications.enums import register_kind
from backend.notifications.service import Notice, notify
from backend.org.scope import Scope
from backend.reports.categories import taxonomy

CREATED = register_kind("report.created", "新的居民上报")
ESCALATED = register_kind("report.escalated", "上报升级")
STATUS = register_kind("report.status", "我的上报进展")
OVERDUE = register_kind("report.overdue", "上报超时")
WHISTLE = register_kind("report.whistle", "吹哨报到")
WHISTLE_LATE = register_kind("report.whistle_late", "部门报到超时")

LEVEL_ROLES = {
    Level.GRID: recipients.GRID_TEAM,
    Level.COMMUNITY: (Role.COMMUNITY_STAFF,),
    Level.STREET: (Role.STREET_STAFF,),
}
LEVEL_UNIT = {
    Level.GRID: (OrgLevel.GRID, "grid_id"),
    Level.COMMUNITY: (OrgLevel.COMMUNITY, "community_id"),
    Level.STREET: (OrgLevel.STREET, "street_id"),
}


LINK = "pages/reports/detail?id="  # + the report's id


def _link(report: Report) -> str:
    return f"{LINK}{report.id}"


def _data(report: Report, **extra: object) -> dict:
    about = _about(report.category, ReportStatus(report.status), Level(report.level))
    return {"report_id": report.id, **about, **extra}


def _about(category: str, status: ReportStatus, level: Level) -> dict:
    return {
        "category": taxonomy().name_of(category), "status_label": status.label, "level_label": level.label
    }


async def team(report: Report, level: Level | None = None) -> list[int]:
    """The people who handle the report at ``level`` (its current level by default)."""
    level = Level(level or report.level)
    org_level, column = LEVEL_UNIT[level]
    unit_id = getattr(report, column)
    if unit_id is None:
        return []
    return await recipients.holders(Scope(units={org_level: frozenset({unit_id})}), LEVEL_ROLES[level])


async def supervisors(report: Report) -> list[int]:
    up = Level(report.level).up
    return await team(report, up) if up else await team(report, Level.STREET)


def _others(people: Iterable[int], *exclude: int | None) -> list[int]:
    return sorted(set(people) - {e for e in exclude if e is not None})


async def created(report: Report, *, actor_id: int) -> None:
    notice = created_notice(report.category, Level(report.level), report.description)
    await notify(
        _others(await team(report), actor_id),
        CREATED,
        Notice(notice.title, notice.body, _link(report), {"report_id": report.id, **notice.data}),
        actor_id=actor_id,
    )


def created_notice(category: str, level: Level, description: str) -> Notice:
    """The new-report notice before the report has an id: the caller adds ``report_id`` to the data and the id
    to ``LINK`` (``created`` here; ``backend/reports/submission.py`` in SQL)."""
    return Notice(
        title=f"新的居民上报：{taxonomy().name_of(category)}"[:64],
        body=description[:200],
        data=_about(category, ReportStatus.SUBMITTED, level),
    )


async def escalated(
    report: Report, *, actor_id: int | None, reason: str, automatic: bool, previous: Iterable[int] = ()
) -> None:
    name = taxonomy().name_of(report.category)
    people = set(await team(report)) | (set(previous) if automatic else set())
    title = f"{'超时自动' if automatic else ''}上报到{Level(report.level).label}：{name}"
    await notify(
        _others(people, actor_id),
        ESCALATED,
        Notice(title=title[:64], body=reason[:1000], link=_link(report), data=_data(report)),
        urgency=Urgency.URGENT if automatic else Urgency.NORMAL,
        actor_id=actor_id,
        dedupe_key=f"report.escalated:{report.id}:{report.version}",
    )


async def status_changed(report: Report, *, actor_id: int | None, note: str | None = None) -> None:
    """Tell the reporter (unless they made the change themselves)."""
    if actor_id == report.reporter_id:
        return
    label = ReportStatus(report.status).label
    await notify(
        [report.reporter_id],
        STATUS,
        Notice(
            title=f"您的上报{label}"[:64], body=(note or "")[:1000], link=_link(report), data=_data(report)
        ),
        actor_id=actor_id,
        dedupe_key=f"report.status:{report.id}:{report.version}",
    )


async def overdue(report: Report, *, clock: str, previous: Iterable[int] = ()) -> None:
    name = taxonomy().name_of(report.category)
    people = set(previous) | set(await team(report)) | set(await supervisors(report))
    if report.assignee_id:
        people.add(report.assignee_id)
    what = "受理" if clock == "accept" else "办结"
    await notify(
        sorted(people),
        OVERDUE,
        Notice(
            title=f"上报超时未{what}：{name}"[:64],
            body=report.description[:200],
            link=_link(report),
            data=_data(report, clock=clock),
        ),
        urgency=Urgency.URGENT,
        dedupe_key=f"report.overdue:{report.id}:{report.version}",
    )


async def whistled(report: Report, targets: Iterable[WhistleTarget], *, actor_id: int, note: str) -> None:
    name = taxonomy().name_of(report.category)
    for target in targets:
        people = await recipients.department_staff(target.department_id)
        await notify(
            _others(people, actor_id),
            WHISTLE,
            Notice(
                title=f"吹哨报到：{name}"[:64],
                body=note[:1000],
                link=f"pages/reports/whistle?id={target.id}",
                data=_data(report, target_id=target.id),
            ),
            urgency=Urgency.URGENT,
            actor_id=actor_id,
        )


async def whistle_late(report: Report, target: WhistleTarget, *, clock: str, blown_by_id: int) -> None:
    what = "报到" if clock == "ack" else "办结"
    people = set(await recipients.department_staff(target.department_id, on_duty=False)) | {blown_by_id}
    await notify(
        sorted(people),
        WHISTLE_LATE,
        Notice(
            title=f"部门超时未{what}：{taxonomy().name_of(report.category)}"[:64],
            body=f"吹哨任务 #{target.id} 已超过时限",
            link=f"pages/reports/whistle?id={target.id}",
            data=_data(report, target_id=target.id, clock=clock),
        ),
        urgency=Urgency.URGENT,
        dedupe_key=f"report.whistle_late:{target.id}:{clock}",
    )


async def notify_people(
    people: Iterable[int], report: Report, *, title: str, body: str, actor_id: int | None
) -> None:
    """A plain progress notice to named people (the assignee, when the reporter answered or withdrew)."""
    await notify(
        _others(people, actor_id),
        STATUS,
        Notice(title=title[:64], body=body[:1000], link=_link(report), data=_data(report)),
        actor_id=actor_id,
    )
