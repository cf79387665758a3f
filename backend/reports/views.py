"""Reports as each reader sees them: the reporter sees their own report and its public timeline; staff (and
summoned departments) see everything, the reporter's phone masked unless revealed (audited)."""

from __future__ import annotations

from datetime import datetime

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core import privacy
from backend.core.timeutil import utcnow
from backend.media import service as media
from backend.models.reports import OPEN_STATUSES, Clock, Level, Report, ReportEvent, ReportStatus
from backend.models.user import User
from backend.reports import access, repository, workflow
from backend.reports.categories import taxonomy
from backend.reports.schemas import PersonOut, PhotoOut, ReportItem, ReportOut, TimelineEvent


def is_overdue(report: Report, now: datetime) -> bool:
    if ReportStatus(report.status) not in OPEN_STATUSES:
        return False
    running = report.clock is not None and Clock(report.clock) in (Clock.ACCEPT, Clock.RESOLVE)
    return bool(report.was_overdue or (running and report.due_at is not None and report.due_at < now))


def _item_fields(report: Report, names: dict[int, str], now: datetime) -> dict:
    status, level = ReportStatus(report.status), Level(report.level)
    return dict(
        id=report.id,
        category=report.category,
        category_name=taxonomy().name_of(report.category),
        summary=report.description[:60],
        status=status,
        status_label=status.label,
        level=level,
        level_label=level.label,
        grid_name=names.get(report.grid_id or 0),
        community_name=names.get(report.community_id or 0),
        due_at=report.due_at,
        overdue=is_overdue(report, now),
        support_count=report.support_count,
        created_at=report.created_at,
    )


async def items(reports: list[Report]) -> list[ReportItem]:
    names = await repository.unit_names([r.grid_id for r in reports] + [r.community_id for r in reports])
    now = utcnow()
    return [ReportItem(**_item_fields(r, names, now)) for r in reports]


def _person(user: User | None, *, reveal: bool) -> PersonOut | None:
    if user is None:
        return None
    return PersonOut(
        id=user.id, name=user.name, phone=user.phone if reveal else privacy.mask_phone(user.phone)
    )


async def photos(settings: Settings, ids: list[int]) -> list[PhotoOut]:
    urls = await media.urls(settings, ids)
    return [PhotoOut(id=i, url=urls[i]) for i in ids if i in urls]


async def detail(
    principal: Principal, report: Report, settings: Settings, *, staff: bool, reveal: bool = False
) -> ReportOut:
    names = await repository.unit_names([report.grid_id, report.community_id])
    base = _item_fields(report, names, utcnow())
    out = ReportOut(
        **base,
        version=report.version,
        description=report.description,
        category_top_name=taxonomy().top_name_of(report.category_top),
        channel=report.channel,
        lat=report.lat,
        lng=report.lng,
        address=report.address,
        building_id=report.building_id,
        photos=await photos(settings, list(report.photo_ids or [])),
        responded_at=report.responded_at,
        resolved_at=report.resolved_at,
        closed_at=report.closed_at,
        resolution_note=report.resolution_note,
        public_note=report.public_note,
        rating=report.rating,
        merged_into_id=report.merged_into_id,
        mine=access.is_reporter(principal, report),
        can_handle=access.can_handle(principal, report),
    )
    if staff:
        if reveal:
            await privacy.reveal(principal, object_type="report", object_id=report.id, fields=["phone"])
        people = await repository.people([report.reporter_id, report.filed_by_id, report.assignee_id])
        out.reporter = _person(people.get(report.reporter_id), reveal=reveal)
        out.filed_by = _person(people.get(report.filed_by_id or 0), reveal=False)
        out.assignee = _person(people.get(report.assignee_id or 0), reveal=False)
        if out.filed_by:
            out.filed_by.phone = None
        if out.assignee:
            out.assignee.phone = None
        out.was_overdue, out.escalations = report.was_overdue, report.escalations
    return out


def _actor_label(
    row: ReportEvent, report: Report, people: dict[int, User], departments: dict[int, str], *, staff: bool
) -> str:
    department = (row.data or {}).get("department_id")
    if department is not None:
        return departments.get(department, "职能部门")
    if row.actor_id is None:
        return "系统"
    if row.actor_id == report.reporter_id:
        return "上报人" if staff else "我"
    person = people.get(row.actor_id)
    suffix = "（代居民）" if row.on_behalf_of_id is not None else ""
    return f"工作人员 {person.name}{suffix}" if person else "工作人员"


async def timeline(report: Report, settings: Settings, *, staff: bool) -> list[TimelineEvent]:
    rows = await repository.events(report.id, public_only=not staff)
    people = await repository.people([r.actor_id for r in rows])
    departments = await repository.department_names(
        d for r in rows if (d := (r.data or {}).get("department_id")) is not None
    )
    photo_ids = [i for r in rows for i in (r.data or {}).get("photo_ids", [])]
    urls = await media.urls(settings, photo_ids) if photo_ids else {}
    out = []
    for row in rows:
        event = TimelineEvent(
            id=row.id,
            action=row.action,
            action_label=workflow.label(row.action),
            from_status=row.from_status,
            to_status=row.to_status,
            from_level=row.from_level,
            to_level=row.to_level,
            note=row.note,
            actor_label=_actor_label(row, report, people, departments, staff=staff),
            created_at=row.created_at,
            photos=[PhotoOut(id=i, url=urls[i]) for i in (row.data or {}).get("photo_ids", []) if i in urls],
        )
        if staff:
            event.actor_id, event.on_behalf_of_id = row.actor_id, row.on_behalf_of_id
            event.public, event.data = row.public, row.data
        out.append(event)
    return out
