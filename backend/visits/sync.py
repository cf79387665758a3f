"""Check-ins, online and synced from offline, stored once per client id.

Each visit is its own transaction. A new client id is INSERTed; the unique key on ``client_id`` settles races
(five concurrent syncs of the same visit: one INSERT wins, the others fail on the key, re-read the stored row and
answer ``duplicate``). A client id already stored is compared, never overwritten blindly:

- same content                              → duplicate (the resend was harmless)
- different content, no ``base_version``    → conflict ``different_content``
- ``base_version`` = the stored version     → the edit is applied (conditional UPDATE on the version; losing
                                              that race is a ``stale_version`` conflict)
- ``base_version`` older / newer            → conflict ``stale_version`` / ``unknown_version``
- place or time changed                     → conflict ``immutable_changed`` (a visit happened where and when it
                                              happened: record a new visit instead)
A conflict returns the server's version, untouched, for the person to look at.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core.db import atomic
from backend.core.errors import AppError
from backend.core.timeutil import to_local, utcnow
from backend.media import service as media
from backend.models.org import Household
from backend.models.visits import Visit, VisitEvent, VisitProblem, VisitSource
from backend.visits import checks, repository
from backend.visits.access import reachable_household
from backend.visits.exceptions import ClientIdTaken, MonthLocked
from backend.visits.policies import policy_for
from backend.visits.schemas import VisitIn

MEDIA_OWNER = "visit"
IMMUTABLE = ("household_id", "visited_at", "lat", "lng", "accuracy_m")
EDITABLE = ("at_home", "notes", "tags", "photo_ids")
CONFLICT_MESSAGES = {
    "different_content": "服务器上已有同一编号、内容不同的走访记录，未覆盖",
    "stale_version": "这条走访记录在您修改之后已被更新过，未覆盖",
    "unknown_version": "服务器上没有您修改所基于的版本，未覆盖",
    "immutable_changed": "走访的住户、时间和位置不能修改；如需更正请新增一条走访记录",
}


@dataclass
class Received:
    """When the server received a request, and the phone's clock at sending (for skew)."""

    at: datetime
    sent_at: datetime | None
    source: VisitSource


@dataclass
class Outcome:
    outcome: str  # created | duplicate | updated | conflict | rejected
    visit: Visit | None = None
    conflict: str | None = None
    fields: list[str] = field(default_factory=list)
    error: AppError | None = None


def content_hash(item: VisitIn) -> str:
    canonical = {
        "household_id": item.household_id, "visited_at": item.visited_at.timestamp(),
        "lat": item.lat, "lng": item.lng, "accuracy_m": item.accuracy_m, "at_home": item.at_home,
        "notes": item.notes or None, "tags": sorted(item.tags), "photo_ids": sorted(item.photo_ids),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _differences(stored: Visit, item: VisitIn) -> list[str]:
    wanted: dict[str, Any] = {
        "household_id": item.household_id, "visited_at": item.visited_at, "lat": item.lat, "lng": item.lng,
        "accuracy_m": item.accuracy_m, "at_home": item.at_home, "notes": item.notes or None,
        "tags": sorted(item.tags), "photo_ids": sorted(item.photo_ids),
    }
    have: dict[str, Any] = {k: getattr(stored, k) for k in wanted}
    have["tags"], have["photo_ids"] = sorted(stored.tags or []), sorted(stored.photo_ids or [])
    return [k for k in wanted if wanted[k] != have[k]]


async def check_in(principal: Principal, item: VisitIn, received: Received, settings: Settings) -> Outcome:
    """Store one visit (or compare it with the stored one). Raises AppError for a visit that cannot be taken."""
    stored = await repository.visit_by_client_id(item.client_id)
    if stored is not None:
        return await _against(principal, stored, item)
    household = await reachable_household(principal, item.household_id)
    try:
        visit = await _create(principal, household, item, received, settings)
    except IntegrityError:
        stored = await repository.visit_by_client_id(item.client_id)
        if stored is None:
            raise
        return await _against(principal, stored, item)  # a concurrent sync of the same visit got there first
    return Outcome("created", visit)


async def _create(principal: Principal, household: Household, item: VisitIn, received: Received,
                  settings: Settings) -> Visit:
    building = household.building
    policy = await policy_for(household.community_id, settings)
    where = checks.position(item.lat, item.lng, item.accuracy_m, building_lat=building.lat,
                            building_lng=building.lng, building_id=building.id, fence_m=policy.fence_m)
    when = checks.timing(item.visited_at, sent_at=received.sent_at, received_at=received.at,
                         skew_limit_s=settings.visits_clock_skew_seconds,
                         late_after=timedelta(hours=settings.visits_late_sync_hours))
    flags = where.flags + when.flags
    month = f"{to_local(when.effective_at):%Y-%m}"
    if await repository.month_locked(principal.id, month):
        flags.append({"code": "month_submitted", "month": month})
    now = utcnow()
    async with atomic():
        visit = await Visit.create(
            client_id=item.client_id, visitor_id=principal.id, household_id=household.id,
            street_id=household.street_id, community_id=household.community_id, grid_id=household.grid_id,
            compound_id=household.compound_id, building_id=household.building_id,
            visited_at=item.visited_at, effective_at=when.effective_at, client_sent_at=received.sent_at,
            received_at=received.at, skew_seconds=when.skew_seconds, lat=item.lat, lng=item.lng,
            accuracy_m=item.accuracy_m, distance_m=where.distance_m, fence_m=policy.fence_m,
            out_of_fence=where.out_of_fence, flagged=bool(flags), flags=flags, at_home=item.at_home,
            notes=item.notes or None, tags=sorted(item.tags), photo_ids=list(item.photo_ids),
            source=received.source, content_hash=content_hash(item), created_at=now, updated_at=now,
        )
        await VisitEvent.create(visit_id=visit.id, action="created", actor_id=principal.id, to_version=1,
                                data={"flags": [f["code"] for f in flags]} if flags else None)
        await _add_problems(visit, item.tags)
        await media.attach(item.photo_ids, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=visit.id)
    return visit


async def _add_problems(visit: Visit, tags: list[str]) -> None:
    if tags:
        await VisitProblem.bulk_create([VisitProblem(
            visit_id=visit.id, household_id=visit.household_id, visitor_id=visit.visitor_id, tag=tag,
            found_at=visit.effective_at, street_id=visit.street_id, community_id=visit.community_id,
            grid_id=visit.grid_id, compound_id=visit.compound_id, building_id=visit.building_id,
        ) for tag in tags])


async def _against(principal: Principal, stored: Visit, item: VisitIn) -> Outcome:
    """A client id already stored: duplicate, edit, or conflict (never a blind overwrite)."""
    if stored.visitor_id != principal.id:
        raise ClientIdTaken(detail={"client_id": str(item.client_id)})
    if content_hash(item) == stored.content_hash:
        return Outcome("duplicate", stored)
    differences = _differences(stored, item)
    if not differences:
        return Outcome("duplicate", stored)
    if any(f in IMMUTABLE for f in differences):
        return Outcome("conflict", stored, "immutable_changed" if item.base_version else "different_content",
                       differences)
    if item.base_version is None:
        return Outcome("conflict", stored, "different_content", differences)
    if item.base_version != stored.version:
        reason = "stale_version" if item.base_version < stored.version else "unknown_version"
        return Outcome("conflict", stored, reason, differences)
    return await _edit(principal, stored, item, differences)


async def _edit(principal: Principal, stored: Visit, item: VisitIn, differences: list[str]) -> Outcome:
    month = f"{to_local(stored.effective_at):%Y-%m}"
    if await repository.month_locked(stored.visitor_id, month):
        raise MonthLocked(detail={"month": month})
    before = {k: getattr(stored, k) for k in EDITABLE}
    after = {"at_home": item.at_home, "notes": item.notes or None, "tags": sorted(item.tags),
             "photo_ids": list(item.photo_ids)}
    now = utcnow()
    async with atomic():
        changed = await Visit.filter(id=stored.id, version=stored.version).update(
            **after, version=stored.version + 1, content_hash=content_hash(item), updated_at=now)
        if not changed:
            fresh = await repository.visit(stored.id)
            return Outcome("conflict", fresh, "stale_version", differences)
        await VisitEvent.create(visit_id=stored.id, action="edited", actor_id=principal.id,
                                from_version=stored.version, to_version=stored.version + 1,
                                data={"fields": differences, "before": before})
        added = [t for t in after["tags"] if t not in (before["tags"] or [])]
        removed = [t for t in before["tags"] or [] if t not in after["tags"]]
        stored.update_from_dict({**after, "version": stored.version + 1, "updated_at": now})
        await _add_problems(stored, added)
        if removed:  # a problem already reported or solved stays: it has a life of its own
            await VisitProblem.filter(visit_id=stored.id, tag__in=removed, report_id=None, solved_at=None).delete()
        new_photos = [i for i in after["photo_ids"] if i not in (before["photo_ids"] or [])]
        await media.attach(new_photos, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=stored.id)
    return Outcome("updated", stored)
