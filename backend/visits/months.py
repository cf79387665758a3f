"""The monthly 走访台账: the visitor submits the month, the grid leader approves it or returns it with a reason.

The workflow is a transition table; every move is a conditional UPDATE on (id, status, version) and writes a
``VisitMonthEvent`` in the same transaction, with its notification. Submitting freezes the month's numbers in
``stats``; visits synced afterwards are kept (flagged ``month_submitted``) and show in the live numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.core.db import atomic
from backend.core.errors import Forbidden, InvalidTransition
from backend.core.timeutil import SHANGHAI, to_local, utcnow
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role
from backend.models.visits import MonthStatus, VisitMonth, VisitMonthEvent
from backend.notifications import recipients
from backend.notifications.service import notify
from backend.org.scope import unit_scope
from backend.visits import repository, stats
from backend.visits.enums import MONTH_APPROVED, MONTH_RETURNED, MONTH_SUBMITTED
from backend.visits.exceptions import FutureMonth, NothingToSubmit
from backend.visits.month_schemas import GridRow, LedgerReportOut, MonthOut, MonthStats, UnitRef, VisitorRow

TRANSITIONS: dict[tuple[MonthStatus, str], MonthStatus] = {
    (MonthStatus.DRAFT, "submit"): MonthStatus.SUBMITTED,
    (MonthStatus.RETURNED, "submit"): MonthStatus.SUBMITTED,
    (MonthStatus.SUBMITTED, "approve"): MonthStatus.APPROVED,
    (MonthStatus.SUBMITTED, "return"): MonthStatus.RETURNED,
}
LINK = "/pages/visits/month?month={month}"


def bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants where a Beijing-time month starts and ends."""
    year, number = (int(p) for p in month.split("-"))
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def current_month(now: datetime | None = None) -> str:
    return f"{to_local(now or utcnow()):%Y-%m}"


def previous_month(now: datetime | None = None) -> str:
    local = to_local(now or utcnow())
    year, number = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def stats_out(counts: stats.Counts) -> MonthStats:
    return MonthStats(**counts.as_dict())


async def mine(visitor_id: int, month: str) -> MonthOut:
    row = await repository.month_row(visitor_id, month)
    start, end = bounds(month)
    live = await stats.of_visitor(visitor_id, start, end)
    name = (await repository.user_names([visitor_id])).get(visitor_id, "")
    return month_out(row, visitor_id=visitor_id, name=name, month=month, live=live)


def month_out(row: VisitMonth | None, *, visitor_id: int, name: str, month: str,
              live: stats.Counts | None) -> MonthOut:
    status = MonthStatus(row.status) if row else MonthStatus.DRAFT
    frozen = row is not None and row.stats is not None and status in (MonthStatus.SUBMITTED, MonthStatus.APPROVED)
    shown = MonthStats(**row.stats) if frozen else stats_out(live or stats.Counts())
    return MonthOut(
        id=row.id if row else None, visitor_id=visitor_id, visitor_name=name, month=month, status=status,
        status_label=status.label, stats=shown, live=stats_out(live) if frozen and live is not None else None,
        grid_id=row.grid_id if row else None, submitted_at=row.submitted_at if row else None,
        reviewed_by_id=row.reviewed_by_id if row else None, reviewed_at=row.reviewed_at if row else None,
        return_reason=row.return_reason if row else None, version=row.version if row else 0,
    )


async def _move(row: VisitMonth, action: str, *, actor_id: int, reason: str | None = None, **changes) -> VisitMonth:  # type: ignore[no-untyped-def]
    target = TRANSITIONS.get((MonthStatus(row.status), action))
    if target is None:
        raise InvalidTransition(f"台账{MonthStatus(row.status).label}，不能{ACTION_LABELS[action]}",
                                detail={"status": row.status})
    now = utcnow()
    moved = await VisitMonth.filter(id=row.id, status=row.status, version=row.version).update(
        status=target, version=row.version + 1, updated_at=now, **changes)
    if not moved:
        raise InvalidTransition("台账刚被其他人处理过，请刷新", detail={"status": row.status})
    await VisitMonthEvent.create(visit_month_id=row.id, action=action, from_status=row.status, to_status=target,
                                 actor_id=actor_id, reason=reason)
    row.update_from_dict({"status": target, "version": row.version + 1, "updated_at": now, **changes})
    return row


ACTION_LABELS = {"submit": "提交", "approve": "审核通过", "return": "退回"}


async def submit(principal: Principal, month: str) -> VisitMonth:
    """The visitor submits their month: numbers frozen, the grid's leaders told."""
    if month > current_month():
        raise FutureMonth(detail={"month": month})
    start, end = bounds(month)
    place = await repository.primary_grid(principal.id, start, end)
    if place is None:
        raise NothingToSubmit(detail={"month": month})
    counts = await stats.of_visitor(principal.id, start, end)
    columns = {k: place[k] for k in ("street_id", "community_id", "grid_id")}
    async with atomic():
        row = await _ensure(principal.id, month, columns)
        await _move(row, "submit", actor_id=principal.id, stats=counts.as_dict(), submitted_at=utcnow(),
                    return_reason=None, **columns)
        grid = await OrgUnit.get_or_none(id=columns["grid_id"])
        leaders = [u for u in await recipients.holders(unit_scope(grid), (Role.GRID_LEADER,)) if u != principal.id] \
            if grid else []
        if leaders:
            await notify(leaders, MONTH_SUBMITTED, {
                "title": f"{principal.user.name}提交了{month}走访台账", "link": LINK.format(month=month),
                "body": f"联系 {counts.assigned} 户，已走访 {counts.visited} 户，走访 {counts.visits} 次",
                "data": {"visit_month_id": row.id, "month": month}}, actor_id=principal.id)
    return row


async def _ensure(visitor_id: int, month: str, columns: dict) -> VisitMonth:  # type: ignore[type-arg]
    row = await repository.month_row(visitor_id, month)
    if row is not None:
        return row
    try:
        async with atomic():
            return await VisitMonth.create(visitor_id=visitor_id, month=month, compound_id=None, building_id=None,
                                           **columns)
    except IntegrityError:
        return await VisitMonth.get(visitor_id=visitor_id, month=month)


async def approve(principal: Principal, row: VisitMonth, version: int | None) -> VisitMonth:
    _check_reviewer(principal, row, version)
    async with atomic():
        await _move(row, "approve", actor_id=principal.id, reviewed_by_id=principal.id, reviewed_at=utcnow())
        await notify([row.visitor_id], MONTH_APPROVED, {
            "title": f"{row.month}走访台账已审核通过", "link": LINK.format(month=row.month),
            "data": {"visit_month_id": row.id, "month": row.month}}, actor_id=principal.id)
    return row


async def return_(principal: Principal, row: VisitMonth, reason: str, version: int | None) -> VisitMonth:
    _check_reviewer(principal, row, version)
    async with atomic():
        await _move(row, "return", actor_id=principal.id, reason=reason, reviewed_by_id=principal.id,
                    reviewed_at=utcnow(), return_reason=reason)
        await notify([row.visitor_id], MONTH_RETURNED, {
            "title": f"{row.month}走访台账被退回", "body": reason[:1000], "link": LINK.format(month=row.month),
            "data": {"visit_month_id": row.id, "month": row.month}}, actor_id=principal.id)
    return row


def _check_reviewer(principal: Principal, row: VisitMonth, version: int | None) -> None:
    if row.visitor_id == principal.id:
        raise Forbidden("不能审核自己的走访台账")
    if version is not None and version != row.version:
        raise InvalidTransition("台账已变化，请刷新后再审核", detail={"version": row.version})


# ------------------------------------------------------------------------------------------------ the report


async def report(unit: OrgUnit, month: str) -> LedgerReportOut:
    """Per visitor and per grid within the unit, and the unit's total (the grid rows summed)."""
    level = OrgLevel(unit.level)
    start, end = bounds(month)
    key = (level, unit.id)
    per_grid = await stats.by_key("grid_id", start, end, unit=key)
    per_visitor = await stats.by_key("visitor_id", start, end, unit=key)
    grid_names = await repository.unit_names(per_grid)
    names = await repository.user_names(per_visitor)
    rows = {r.visitor_id: r for r in await VisitMonth.filter(visitor_id__in=list(per_visitor), month=month)}
    grids = [GridRow(grid_id=gid, name=grid_names.get(gid, ""), **per_grid[gid].as_dict())
             for gid in sorted(per_grid, key=lambda g: (grid_names.get(g, ""), g))]
    visitors = []
    for vid in sorted(per_visitor, key=lambda v: (names.get(v, ""), v)):
        status = MonthStatus(rows[vid].status) if vid in rows else MonthStatus.DRAFT
        visitors.append(VisitorRow(visitor_id=vid, name=names.get(vid, ""), month_status=status,
                                   month_status_label=status.label, **per_visitor[vid].as_dict()))
    return LedgerReportOut(month=month, unit=UnitRef(id=unit.id, name=unit.name, level=level), visitors=visitors,
                           grids=grids, total=GridRow(grid_id=None, name="合计", **stats.total(per_grid).as_dict()))
