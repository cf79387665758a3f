"""The notifications service: ``notify`` (called by every workflow, inside its own transaction), the inbox,
preferences and quiet hours, consent records, presence, announcements and the staff view of unreachable people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.auth.principal import Principal
from backend.core import audit, privacy
from backend.core.db import atomic, on_commit
from backend.core.pagination import Page, encode_cursor
from backend.core.timeutil import to_local, utcnow
from backend.models.notifications import (
    DeliveryStatus,
    InboxItem,
    NotificationPreference,
    Urgency,
    WechatDelivery,
)
from backend.models.org import OrgUnit
from backend.models.user import Role, User
from backend.notifications import hotpath, repository, runtime
from backend.notifications import recipients as rules
from backend.notifications.enums import (
    ANNOUNCEMENT,
    DIGEST,
    KINDS,
    STATUS_LABELS,
    UNREACHABLE,
    kind_label,
    valid_kind,
)
from backend.notifications.exceptions import (
    AlreadyResolved,
    AudienceEmpty,
    AudienceTooLarge,
    NotificationNotFound,
    PresenceNotAllowed,
    UnknownTemplate,
)
from backend.notifications.schemas import (
    LINK_PATTERN,
    AnnouncementIn,
    AnnouncementOut,
    Audience,
    InboxItemOut,
    InboxPage,
    KindOut,
    PreferencesIn,
    PreferencesOut,
    PresenceIn,
    PresenceOut,
    QuietHours,
    TemplateOut,
    UnreachableOut,
    UnreadCount,
)
from backend.org.scope import unit_scope
from backend.outbox import service as outbox

PUSH = hotpath.PUSH
WECHAT = hotpath.WECHAT
STAFF_VIEW = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
MAX_AUDIENCE = 5000
ALWAYS_LOUD = frozenset({DIGEST})  # the digest is what quiet hours were waiting for


# ------------------------------------------------------------------------------------------------ notify


@dataclass(frozen=True)
class Notice:
    """What the recipients read: ``title`` (≤ 64), ``body`` (≤ 1000), ``link`` (a mini-program page path) and
    ``data`` (ids and fields for the client and for WeChat template keywords)."""

    title: str
    body: str = ""
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, payload: Notice | Mapping[str, Any]) -> Notice:
        if isinstance(payload, Notice):
            notice = payload
        else:
            extra = {k: v for k, v in payload.items() if k not in ("title", "body", "link", "data")}
            notice = cls(title=str(payload.get("title") or ""), body=str(payload.get("body") or ""),
                         link=payload.get("link"), data={**extra, **dict(payload.get("data") or {})})
        if not 1 <= len(notice.title) <= 64 or len(notice.body) > 1000:
            raise ValueError("a notification needs a title of 1–64 characters and a body of at most 1000")
        if notice.link is not None and (len(notice.link) > 200 or not re.fullmatch(LINK_PATTERN, notice.link)):
            raise ValueError(f"link {notice.link!r} is not a mini-program page path")
        json.dumps(notice.data)  # must be JSON (it is stored and sent as is)
        return notice


@dataclass(frozen=True)
class Notified:
    event_id: int
    items: dict[int, int]  # user id -> inbox item id


def _minute_of_day(now: datetime) -> int:
    local = to_local(now)
    return local.hour * 60 + local.minute


def in_quiet_hours(start: int | None, end: int | None, minute: int) -> bool:
    if start is None or end is None:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


def is_silent(pref: NotificationPreference | None, kind: str, urgency: Urgency, now: datetime) -> bool:
    """Urgent items and digests always interrupt; otherwise a muted kind or quiet hours make an item silent.

    The rule as Python; ``notify`` applies the same rule in SQL (``hotpath.write_notification``), and a test holds
    the two together."""
    if pref is None or urgency is Urgency.URGENT or kind in ALWAYS_LOUD:
        return False
    return kind in (pref.muted_kinds or []) or in_quiet_hours(pref.quiet_start, pref.quiet_end, _minute_of_day(now))


def write_rules(kind: str, urgency: Urgency, now: datetime) -> dict[str, Any]:
    """What ``hotpath``'s write needs besides the notice: may an item be silent (muting, quiet hours), the
    minute of the Beijing day those are judged at, and whether the kind has a WeChat leg."""
    return {
        "may_be_silent": urgency is Urgency.NORMAL and kind not in ALWAYS_LOUD,
        "minute": _minute_of_day(now),
        "wechat_leg": runtime.templates().get(kind) is not None or urgency is Urgency.URGENT,
    }


async def notify(
    recipients: Iterable[int | User],
    kind: str,
    payload: Notice | Mapping[str, Any],
    *,
    urgency: Urgency = Urgency.NORMAL,
    dedupe_key: str | None = None,
    actor_id: int | None = None,
) -> Notified | None:
    """Write one inbox row per recipient and the outbox events that push them (WebSocket hint, WeChat message).

    Call it inside your own ``atomic()``: everything commits or rolls back with your change. Inactive users are
    skipped; with a ``dedupe_key`` seen before (or no recipient left) nothing is written and None is returned.
    One statement on PostgreSQL and no row locks: concurrent callers never wait for each other here
    (docs/adr/0020).
    """
    if not valid_kind(kind):
        raise ValueError(f"bad notification kind {kind!r}")
    notice, urgency = Notice.of(payload), Urgency(urgency)
    wanted = sorted({r.id if isinstance(r, User) else int(r) for r in recipients})
    if not wanted:
        return None
    now = utcnow()
    written = await hotpath.write_notification(
        kind=kind, title=notice.title, body=notice.body, link=notice.link, urgency=urgency, data=notice.data,
        dedupe_key=dedupe_key, actor_id=actor_id, recipients=wanted, now=now,
        **write_rules(kind, urgency, now),
    )
    if written is None:
        return None
    on_commit(outbox.wake)
    return Notified(event_id=written.event_id, items=written.items)


# ------------------------------------------------------------------------------------------------ the inbox


def item_out(item: InboxItem) -> InboxItemOut:
    event = item.event
    return InboxItemOut(
        id=item.id, kind=item.kind, kind_label=kind_label(item.kind), title=event.title, body=event.body,
        link=event.link, urgency=item.urgency, silent=item.silent, data=event.data or {},
        created_at=item.created_at, read_at=item.read_at,
    )


async def inbox(
    user_id: int, *, before_id: int | None, unread_only: bool, kind: str | None, limit: int
) -> InboxPage:
    # The first page stops at the inbox horizon: its newest id becomes the app's socket cursor, and a cursor
    # above an item still being committed would skip that item (docs/adr/0020).
    upto = await hotpath.horizon() if before_id is None else None
    rows = await repository.page(user_id, before_id=before_id, upto=upto, unread_only=unread_only, kind=kind,
                                 limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    unread, _ = await repository.unread_counts(user_id)
    return InboxPage(
        items=[item_out(r) for r in rows], next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
        unread=unread,
    )


async def unread(user_id: int) -> UnreadCount:
    unread_, urgent = await repository.unread_counts(user_id)
    return UnreadCount(unread=unread_, urgent_unread=urgent)


async def get_item(user_id: int, item_id: int) -> InboxItem:
    item = await repository.item(user_id, item_id)
    if item is None:
        raise NotificationNotFound()
    return item


async def mark_read(user_id: int, item_id: int) -> InboxItem:
    """Mark one of the user's items read (a second call changes nothing and keeps the first time)."""
    await get_item(user_id, item_id)
    await repository.mark_read(user_id, item_id, utcnow())
    return await get_item(user_id, item_id)


async def mark_all_read(user_id: int, up_to: int | None) -> int:
    return await repository.mark_all_read(user_id, up_to, utcnow())


# ------------------------------------------------------------------------------------------------ preferences


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


async def preferences(user_id: int) -> PreferencesOut:
    pref = await repository.preference(user_id)
    quiet = None
    if pref is not None and pref.quiet_start is not None and pref.quiet_end is not None:
        quiet = QuietHours(start=_clock(pref.quiet_start), end=_clock(pref.quiet_end))
    return PreferencesOut(
        muted_kinds=list(pref.muted_kinds or []) if pref else [],
        quiet_hours=quiet,
        kinds=[KindOut(kind=k, label=v) for k, v in sorted(KINDS.items())],
    )


async def set_preferences(user_id: int, body: PreferencesIn) -> PreferencesOut:
    quiet = body.quiet_hours
    await repository.save_preference(
        user_id,
        muted_kinds=sorted(set(body.muted_kinds) - ALWAYS_LOUD),
        quiet_start=_minutes(quiet.start) if quiet else None,
        quiet_end=_minutes(quiet.end) if quiet else None,
    )
    return await preferences(user_id)


# ------------------------------------------------------------------------------------------------ digest


def _digest_notice(items: list[InboxItem]) -> Notice:
    lines = [f"· {i.event.title}" for i in items[:5]]
    if len(items) > 5:
        lines.append(f"……等 {len(items)} 条")
    return Notice(
        title=f"免打扰期间有 {len(items)} 条通知",
        body="\n".join(lines),
        link="pages/notifications/index",
        data={"count": len(items), "item_ids": [i.id for i in items[:100]]},
    )


async def send_digests(before: datetime, *, batch: int = 500) -> int:
    """For every user with silent items older than ``before`` not yet summarised: one digest item, and those
    items marked as summarised by it, in one transaction per user. Safe to run twice (and concurrently)."""
    sent, seen = 0, set()
    while True:
        users = [u for u in await repository.digest_candidates(before, batch) if u not in seen]
        if not users:
            return sent
        for uid in users:
            seen.add(uid)
            async with atomic():
                items = await repository.undigested(uid, before)
                if not items:
                    continue
                done = await notify([uid], DIGEST, _digest_notice(items), dedupe_key=f"digest:{uid}:{items[-1].id}")
                if done is not None and uid in done.items:
                    await repository.mark_digested([i.id for i in items], done.items[uid])
                    sent += 1


# ------------------------------------------------------------------------------------------------ consent


def templates_out() -> list[TemplateOut]:
    return [
        TemplateOut(kind=kind, kind_label=kind_label(kind), template_id=t.template_id)
        for kind, t in sorted(runtime.templates().items())
    ]


async def remaining_consents(user_id: int) -> dict[str, int]:
    return await repository.remaining_consents(user_id)


async def record_consents(user_id: int, results: Mapping[str, Any]) -> dict[str, int]:
    """Store what the user answered in ``wx.requestSubscribeMessage``; each ``accept`` is one more send."""
    known = {t.template_id for t in runtime.templates().values()}
    unknown = sorted(set(results) - known)
    if unknown:
        raise UnknownTemplate(detail={"template_ids": unknown})
    await repository.add_consents(user_id, dict(results))
    return await repository.remaining_consents(user_id)


# ------------------------------------------------------------------------------------------------ presence

PRESENCE_ROLES = (Role.VOLUNTEER, Role.DEPARTMENT_STAFF)


async def presence(user_id: int) -> PresenceOut:
    row = await repository.presence(user_id)
    if row is None:
        return PresenceOut(available=False, lat=None, lng=None, updated_at=None)
    return PresenceOut(available=row.available, lat=row.lat, lng=row.lng, updated_at=row.updated_at)


async def set_presence(principal: Principal, body: PresenceIn) -> PresenceOut:
    """A volunteer says "available near here" / a department staff member "on duty". Off duty clears the
    position: only the latest one is ever kept, and only while it is useful."""
    if not principal.has(*PRESENCE_ROLES):
        raise PresenceNotAllowed()
    keep = body.available and body.lat is not None
    await repository.save_presence(
        principal.id, available=body.available, lat=body.lat if keep else None, lng=body.lng if keep else None
    )
    return await presence(principal.id)


# ------------------------------------------------------------------------------------------------ announcements


async def audience_of(unit: OrgUnit, audience: Audience) -> list[int]:
    scope = unit_scope(unit)
    if audience is Audience.RESIDENTS:
        return await rules.residents(unit)
    if audience is Audience.STAFF:
        return await rules.holders(scope, rules.UNIT_STAFF)
    if audience is Audience.VOLUNTEERS:
        return await rules.holders(scope, (Role.VOLUNTEER,))
    everyone = set(await rules.residents(unit)) | set(await rules.holders(scope, [r for r in Role if r != Role.ADMIN]))
    return sorted(everyone)


async def announce(principal: Principal, unit: OrgUnit, body: AnnouncementIn) -> AnnouncementOut:
    """A staff notice to the residents / staff / volunteers of a unit in the caller's area (audited)."""
    people = [u for u in await audience_of(unit, body.audience) if u != principal.id]
    if not people:
        raise AudienceEmpty()
    if len(people) > MAX_AUDIENCE:
        raise AudienceTooLarge(detail={"count": len(people), "max": MAX_AUDIENCE})
    notice = Notice(title=body.title, body=body.body, link=body.link or "pages/notifications/index",
                    data={"unit_id": unit.id, "unit_name": unit.name, "from": principal.user.name})
    async with atomic():
        done = await notify(people, ANNOUNCEMENT, notice, urgency=body.urgency, actor_id=principal.id)
        if done is None:
            raise AudienceEmpty()
        await audit.record(
            "notifications:announce", actor_id=principal.id, object_type="notification_event",
            object_id=done.event_id,
            detail={"unit_id": unit.id, "audience": body.audience.value, "recipients": len(done.items)},
        )
    return AnnouncementOut(event_id=done.event_id, recipients=len(done.items))


# ------------------------------------------------------------------------------------------------ unreachable


def unreachable_out(d: WechatDelivery) -> UnreachableOut:
    event = d.item.event
    return UnreachableOut(
        delivery_id=d.id, item_id=d.item_id, user_id=d.user_id, user_name=d.user.name,
        phone_masked=privacy.mask_phone(d.user.phone), kind=d.item.kind, kind_label=kind_label(d.item.kind),
        title=event.title, status=d.status, reason=STATUS_LABELS[DeliveryStatus(d.status)],
        last_error=d.last_error, created_at=d.created_at, resolved_at=d.resolved_at,
        resolution_note=d.resolution_note,
    )


async def unreachable(
    scope, *, include_resolved: bool, before_id: int | None, limit: int  # type: ignore[no-untyped-def]
) -> Page[UnreachableOut]:
    rows = await repository.unreachable(
        scope, UNREACHABLE, include_resolved=include_resolved, before_id=before_id, limit=limit
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[unreachable_out(r) for r in rows],
                next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


async def resolve(principal: Principal, delivery: WechatDelivery, note: str) -> UnreachableOut:
    """Record that someone reached the person another way (a phone call, a visit)."""
    async with atomic():
        changed = await WechatDelivery.filter(id=delivery.id, resolved_at=None).update(
            resolved_at=utcnow(), resolved_by_id=principal.id, resolution_note=note, updated_at=utcnow()
        )
        if not changed:
            raise AlreadyResolved()
        await audit.record("notifications:resolve", actor_id=principal.id, object_type="wechat_delivery",
                           object_id=delivery.id, detail={"note": note})
    await delivery.refresh_from_db()
    return unreachable_out(delivery)
