"""Queries of the reports domain. Every staff list starts from a ``Scope`` (backend/org/scope.py); a reporter's
own list is keyed by their user id; department lists by their department ids."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.expressions import F, Q

from backend.core import sql
from backend.models.org import Department, OrgUnit
from backend.models.reports import (
    OPEN_STATUSES,
    Deliberation,
    DeliberationVote,
    Level,
    Report,
    ReportEvent,
    ReportStatus,
    ReportSupport,
    Whistle,
    WhistleTarget,
)
from backend.models.user import User
from backend.models.visits import Visit
from backend.org.scope import Scope

# ------------------------------------------------------------------------------------------------ filing

# The hottest write (every report filed): hand-written SQL (backend/core/sql.py). On PostgreSQL the report and
# its first history row go in one statement (a data-modifying CTE), one round trip.
NEW_REPORT_COLUMNS = (
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
    "building_id",
    "household_id",
    "reporter_id",
    "filed_by_id",
    "category",
    "category_top",
    "description",
    "channel",
    "lat",
    "lng",
    "address",
    "photo_ids",
    "status",
    "level",
    "version",
    "clock",
    "due_at",
    "response_due_at",
    "was_overdue",
    "escalations",
    "round",
    "support_count",
    "created_at",
    "updated_at",
)
_INSERT_REPORT = (
    f"INSERT INTO report ({', '.join(NEW_REPORT_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(NEW_REPORT_COLUMNS) + 1))}) RETURNING *"
)
_SUBMIT_EVENT = (
    "INSERT INTO report_event (report_id, action, actor_id, on_behalf_of_id, from_status, to_status, from_level,"
    " to_level, note, data, public, transition, created_at)"
)


def submitted_ctes(holes: sql.Holes, given: dict[str, str] | None = None) -> str:
    """PostgreSQL: the CTEs ``r`` (the new report, ``RETURNING *``) and ``e`` (its ``submit`` history row),
    without ``WITH``. Placeholders are named after the columns, then ``actor``, ``on_behalf`` and ``history``
    (the history row's JSON); ``given`` replaces a column's placeholder with SQL (a literal, another one)."""
    h, given = holes, given or {}
    return (
        f"r AS (INSERT INTO report ({', '.join(NEW_REPORT_COLUMNS)}) "
        f"VALUES ({', '.join(given.get(c) or h(c) for c in NEW_REPORT_COLUMNS)}) RETURNING *), "
        f"e AS ({_SUBMIT_EVENT} SELECT id, 'submit', {h('actor')}, {h('on_behalf')}, NULL, status, NULL, "
        f"level, NULL, {h('history')}, TRUE, TRUE, created_at FROM r)"
    )


def submitted_params(holes: sql.Holes, values: dict[str, Any], *, actor_id: int | None,
                     on_behalf_of_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """The values of ``submitted_ctes``'s placeholders (those ``holes`` handed out), by name."""
    return {
        **{c: _db(values[c]) for c in NEW_REPORT_COLUMNS if c in holes},
        "actor": actor_id,
        "on_behalf": on_behalf_of_id,
        "history": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    }

_INSERT_EVENT = f"{_SUBMIT_EVENT} VALUES ($1, 'submit', $2, $3, NULL, $4, NULL, $5, NULL, $6, TRUE, TRUE, $7)"


async def insert_submitted(
    values: dict[str, Any], *, actor_id: int | None, on_behalf_of_id: int | None, data: dict[str, Any]
) -> Report:
    """A new report and its ``submit`` history row, statement by statement; returns the report as stored.
    SQLite's path (``workflow.submit``); PostgreSQL files in one statement (``submission``), and its test
    files through here too, as the reference the one statement must match."""
    params = [_db(values[c]) for c in NEW_REPORT_COLUMNS]
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    report = Report._init_from_db(**(await sql.fetch(_INSERT_REPORT, *params))[0])
    await sql.execute(
        _INSERT_EVENT,
        report.id,
        actor_id,
        on_behalf_of_id,
        values["status"].value,
        values["level"].value,
        payload,
        values["created_at"],
    )
    return report


def _db(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


async def get(report_id: int) -> Report | None:
    return await Report.get_or_none(id=report_id)


async def reload(report: Report) -> Report:
    fresh = await Report.get(id=report.id)
    return fresh


# ------------------------------------------------------------------------------------------------ lists


def _page(qs, before_id: int | None, limit: int):  # type: ignore[no-untyped-def]
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return qs.order_by("-id").limit(limit + 1)


async def mine(
    user_id: int, *, statuses: Sequence[ReportStatus] | None, before_id: int | None, limit: int
) -> list[Report]:
    qs = Report.filter(reporter_id=user_id)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return await _page(qs, before_id, limit)


def handler_q(scopes: dict[Level, Scope]) -> Q:
    """Reports at a level whose unit one of these scopes (per level: the caller's handler grants) covers."""
    parts = [scope.q() & Q(level=level) for level, scope in scopes.items() if not scope.is_empty]
    return Q(*parts, join_type=Q.OR) if parts else Q(id__in=[])


async def queue_new(scopes: dict[Level, Scope], *, before_id: int | None, limit: int) -> list[Report]:
    return await _page(Report.filter(handler_q(scopes), status=ReportStatus.SUBMITTED), before_id, limit)


async def queue_mine(user_id: int, *, before_id: int | None, limit: int) -> list[Report]:
    qs = Report.filter(assignee_id=user_id, status__in=[ReportStatus.ACCEPTED, ReportStatus.NEED_INFO])
    return await _page(qs, before_id, limit)


async def queue_overdue(scope: Scope, now: datetime, *, before_id: int | None, limit: int) -> list[Report]:
    late = Q(due_at__lt=now) | Q(was_overdue=True)
    qs = scope.filter(Report.filter(late, status__in=list(OPEN_STATUSES)))
    return await _page(qs, before_id, limit)


async def staff_list(
    scope: Scope,
    *,
    within: Scope | None,
    statuses: Sequence[ReportStatus] | None,
    level: Level | None,
    category: str | None,
    before_id: int | None,
    limit: int,
) -> list[Report]:
    qs = scope.filter(Report.all())
    if within is not None:
        qs = within.filter(qs)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    if level is not None:
        qs = qs.filter(level=level)
    if category:
        qs = qs.filter(category=category) if "." in category else qs.filter(category_top=category)
    return await _page(qs, before_id, limit)


async def visit(visit_id: int) -> Visit | None:
    """A home visit (入户走访) a report is filed from; who may use it is the service's call."""
    return await Visit.get_or_none(id=visit_id)


async def household_resident(household_id: int, *, user_id: int | None = None) -> User | None:
    """An active resident account of the household (``user_id``, else its first): a problem found on a visit
    is filed in their name."""
    qs = User.filter(household_id=household_id, is_active=True)
    if user_id is not None:
        qs = qs.filter(id=user_id)
    return await qs.order_by("id").first()


async def similar_open(
    category: str,
    *,
    since: datetime,
    point: tuple[float, float] | None,
    dlat: float,
    dlng: float,
    building_id: int | None,
    limit: int,
) -> list[Report]:
    """Open reports of a category since a time, inside a box around ``point`` or about ``building_id``."""
    near = []
    if point is not None:
        lat, lng = point
        near.append(Q(lat__gte=lat - dlat, lat__lte=lat + dlat, lng__gte=lng - dlng, lng__lte=lng + dlng))
    if building_id is not None:
        near.append(Q(building_id=building_id))
    if not near:
        return []
    return (
        await Report.filter(
            Q(*near, join_type=Q.OR), category=category, created_at__gte=since, status__in=list(OPEN_STATUSES)
        )
        .order_by("-id")
        .limit(limit)
    )


# ------------------------------------------------------------------------------------------------ names


NAME_CACHE_SECONDS = 60.0
_names: dict[int, tuple[float, str]] = {}  # unit id -> (valid until, name): every list shows them


async def unit_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Names of org units, cached for a minute per process (a renamed grid shows its new name within it)."""
    now = time.monotonic()
    found: dict[int, str] = {}
    missing = []
    for unit_id in {i for i in ids if i}:
        cached = _names.get(unit_id)
        if cached is not None and cached[0] > now:
            found[unit_id] = cached[1]
        else:
            missing.append(unit_id)
    if missing:
        for unit_id, name in await OrgUnit.filter(id__in=sorted(missing)).values_list("id", "name"):
            _names[unit_id] = (now + NAME_CACHE_SECONDS, name)
            found[unit_id] = name
    return found


def forget_names() -> None:
    _names.clear()


async def unit(unit_id: int) -> OrgUnit | None:
    return await OrgUnit.get_or_none(id=unit_id)


async def people(ids: Iterable[int | None]) -> dict[int, User]:
    wanted = sorted({i for i in ids if i})
    return {u.id: u for u in await User.filter(id__in=wanted)} if wanted else {}


async def department_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    return dict(await Department.filter(id__in=wanted).values_list("id", "name")) if wanted else {}


# ------------------------------------------------------------------------------------------------ timeline


async def events(report_id: int, *, public_only: bool) -> list[ReportEvent]:
    qs = ReportEvent.filter(report_id=report_id)
    if public_only:
        qs = qs.filter(public=True)
    return await qs.order_by("id")


# ------------------------------------------------------------------------------------------------ supports


async def supported(user_id: int, report_ids: Sequence[int]) -> set[int]:
    if not report_ids:
        return set()
    return set(
        await ReportSupport.filter(user_id=user_id, report_id__in=list(report_ids)).values_list(
            "report_id", flat=True
        )
    )


# ------------------------------------------------------------------------------------------------ whistles


async def whistled_to(report_id: int, departments: Iterable[int]) -> bool:
    wanted = sorted(set(departments))
    return bool(wanted) and await WhistleTarget.exists(report_id=report_id, department_id__in=wanted)


async def whistles_of(report_id: int) -> list[Whistle]:
    return await Whistle.filter(report_id=report_id).order_by("id").prefetch_related("targets")


async def target(target_id: int) -> WhistleTarget | None:
    return await WhistleTarget.get_or_none(id=target_id)


async def department_targets(
    departments: Iterable[int], *, statuses: Sequence[str] | None, before_id: int | None, limit: int
) -> list[WhistleTarget]:
    qs = WhistleTarget.filter(department_id__in=sorted(set(departments)))
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return await _page(qs, before_id, limit)


# ------------------------------------------------------------------------------------------------ deliberations


async def deliberation(deliberation_id: int) -> Deliberation | None:
    return await Deliberation.get_or_none(id=deliberation_id).select_related("report")


async def deliberations_of(report_id: int) -> list[Deliberation]:
    return await Deliberation.filter(report_id=report_id).order_by("id")


async def open_votes(scope: Scope, now: datetime, limit: int = 50) -> list[Deliberation]:
    """Deliberations whose household vote is open, on reports inside ``scope``."""
    qs = Deliberation.filter(status="open", vote_closes_at__gt=now)
    return await scope.filter(qs, prefix="report__").order_by("-id").limit(limit)


async def tallies(deliberation_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {} for i in deliberation_ids}
    rows = await DeliberationVote.filter(deliberation_id__in=list(deliberation_ids)).values_list(
        "deliberation_id", "option"
    )
    for deliberation_id, option in rows:
        out[deliberation_id][option] = out[deliberation_id].get(option, 0) + 1
    return out


async def my_votes(user_household: int | None, deliberation_ids: Sequence[int]) -> dict[int, str]:
    if user_household is None or not deliberation_ids:
        return {}
    return dict(
        await DeliberationVote.filter(
            household_id=user_household, deliberation_id__in=list(deliberation_ids)
        ).values_list("deliberation_id", "option")
    )


# ------------------------------------------------------------------------------------------------ merging users


async def move_reporter(from_user_id: int, to_user_id: int) -> int:
    return await Report.filter(reporter_id=from_user_id).update(reporter_id=to_user_id)


async def move_supports(from_user_id: int, to_user_id: int) -> None:
    """Supports follow the person; where both accounts supported one report, the placeholder's is dropped."""
    both = list(await ReportSupport.filter(user_id=to_user_id).values_list("report_id", flat=True))
    dropped = ReportSupport.filter(user_id=from_user_id, report_id__in=both)
    twice = list(await dropped.values_list("report_id", flat=True))
    if twice:
        await Report.filter(id__in=twice).update(support_count=F("support_count") - 1)
        await ReportSupport.filter(user_id=from_user_id, report_id__in=twice).delete()
    await ReportSupport.filter(user_id=from_user_id).update(user_id=to_user_id)


async def move_votes(from_user_id: int, to_user_id: int) -> int:
    return await DeliberationVote.filter(user_id=from_user_id).update(user_id=to_user_id)


async def absorb_supporters(duplicate: Report, into: Report) -> int:
    """The duplicate's reporter and supporters support ``into`` (once each, never its own reporter); the count
    is recomputed from the rows. Returns how many supporters were added."""
    people = set(await ReportSupport.filter(report_id=duplicate.id).values_list("user_id", flat=True))
    people.add(duplicate.reporter_id)
    people.discard(into.reporter_id)
    before = await ReportSupport.filter(report_id=into.id).count()
    if people:
        await ReportSupport.bulk_create(
            [ReportSupport(report_id=into.id, user_id=u) for u in sorted(people)], ignore_conflicts=True
        )
    after = await ReportSupport.filter(report_id=into.id).count()
    await Report.filter(id=into.id).update(support_count=after)
    into.support_count = after
    return after - before
