"""Queries of the notifications domain. Inbox reads are always by the owner's id; staff views start from a
``Scope`` (through ``backend.users.repository.scoped_users``, the one rule for "a person in my area")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery

from backend.core.timeutil import utcnow
from backend.models.auth import AuthSession
from backend.models.notifications import (
    ConsentChoice,
    DeliveryStatus,
    InboxItem,
    NotificationPreference,
    Presence,
    Urgency,
    WechatConsent,
    WechatDelivery,
)
from backend.models.org import OrgUnit
from backend.models.user import WechatAccount
from backend.org.scope import Scope
from backend.users.repository import scoped_users

# Writing a notification and the horizon are hand-written SQL in ``backend/notifications/hotpath.py``.


# ------------------------------------------------------------------------------------------------ the inbox


def _owned(user_id: int):  # type: ignore[no-untyped-def]
    return InboxItem.filter(user_id=user_id)


async def page(
    user_id: int, *, before_id: int | None, upto: int | None = None, unread_only: bool, kind: str | None, limit: int
) -> list[InboxItem]:
    qs = _owned(user_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    if upto is not None:
        qs = qs.filter(id__lte=upto)
    if unread_only:
        qs = qs.filter(read_at=None)
    if kind:
        qs = qs.filter(kind=kind)
    return await qs.order_by("-id").limit(limit + 1).select_related("event")


async def unread_counts(user_id: int) -> tuple[int, int]:
    unread = await _owned(user_id).filter(read_at=None).count()
    urgent = await _owned(user_id).filter(read_at=None, urgency=Urgency.URGENT).count() if unread else 0
    return unread, urgent


async def item(user_id: int, item_id: int) -> InboxItem | None:
    return await _owned(user_id).filter(id=item_id).select_related("event").first()


async def mark_read(user_id: int, item_id: int, now: datetime) -> int:
    return await _owned(user_id).filter(id=item_id, read_at=None).update(read_at=now)


async def mark_all_read(user_id: int, up_to: int | None, now: datetime) -> int:
    qs = _owned(user_id).filter(read_at=None)
    if up_to is not None:
        qs = qs.filter(id__lte=up_to)
    return await qs.update(read_at=now)


async def items_after(user_id: int, after: int, limit: int, *, upto: int | None = None) -> list[InboxItem]:
    """The user's committed items with id > ``after`` (and ≤ ``upto``), oldest first (socket replay)."""
    qs = _owned(user_id).filter(id__gt=after)
    if upto is not None:
        qs = qs.filter(id__lte=upto)
    return await qs.order_by("id").limit(limit).select_related("event")


async def latest_item_id(user_id: int, *, upto: int | None = None) -> int:
    """The user's newest item id (at most ``upto``), 0 for none."""
    qs = _owned(user_id) if upto is None else _owned(user_id).filter(id__lte=upto)
    return await qs.order_by("-id").first().values_list("id", flat=True) or 0


async def items_of_event(event_id: int) -> list[InboxItem]:
    return await InboxItem.filter(event_id=event_id).order_by("id").select_related("event")


# ------------------------------------------------------------------------------------------------ preferences


async def preference(user_id: int) -> NotificationPreference | None:
    return await NotificationPreference.get_or_none(user_id=user_id)


async def save_preference(user_id: int, **values: Any) -> None:
    changed = await NotificationPreference.filter(user_id=user_id).update(**values, updated_at=utcnow())
    if not changed:
        await NotificationPreference.create(user_id=user_id, **values)


async def digest_candidates(before: datetime, limit: int) -> list[int]:
    """Users with silent items not yet summarised, created before ``before``."""
    rows = await (
        InboxItem.filter(silent=True, digest_id=None, created_at__lt=before)
        .distinct().order_by("user_id").limit(limit).values_list("user_id", flat=True)
    )
    return list(rows)


async def undigested(user_id: int, before: datetime) -> list[InboxItem]:
    return await (
        _owned(user_id).filter(silent=True, digest_id=None, created_at__lt=before).order_by("id")
        .select_related("event")
    )


async def mark_digested(item_ids: Sequence[int], digest_id: int) -> int:
    return await InboxItem.filter(id__in=list(item_ids), digest_id=None).update(digest_id=digest_id)


# ------------------------------------------------------------------------------------------------ presence


async def presence(user_id: int) -> Presence | None:
    return await Presence.get_or_none(user_id=user_id)


async def save_presence(user_id: int, *, available: bool, lat: float | None, lng: float | None) -> None:
    values = {"available": available, "lat": lat, "lng": lng, "updated_at": utcnow()}
    if not await Presence.filter(user_id=user_id).update(**values):
        await Presence.create(user_id=user_id, **values)


# ------------------------------------------------------------------------------------------------ consent


async def add_consents(user_id: int, results: dict[str, ConsentChoice]) -> None:
    await WechatConsent.bulk_create(
        [WechatConsent(user_id=user_id, template_id=t, choice=c) for t, c in sorted(results.items())]
    )


async def remaining_consents(user_id: int) -> dict[str, int]:
    rows = await WechatConsent.filter(user_id=user_id, choice=ConsentChoice.ACCEPT, spent_at=None).values_list(
        "template_id", flat=True
    )
    out: dict[str, int] = {}
    for template_id in rows:
        out[template_id] = out.get(template_id, 0) + 1
    return out


async def spend_consent(user_id: int, template_id: str, delivery_id: int) -> int | None:
    """Spend the user's oldest unspent consent for this template on this delivery; None if none is left.

    The conditional UPDATE (``spent_at IS NULL``) decides races: of two deliveries trying one consent, exactly one
    changes the row; the other moves on to the next consent."""
    for _ in range(20):
        candidate = await WechatConsent.filter(
            user_id=user_id, template_id=template_id, choice=ConsentChoice.ACCEPT, spent_at=None
        ).order_by("id").first().values_list("id", flat=True)
        if candidate is None:
            return None
        if await WechatConsent.filter(id=candidate, spent_at=None).update(spent_at=utcnow(), spent_by=delivery_id):
            return candidate
    return None


async def release_consent(consent_id: int, delivery_id: int) -> None:
    """Give a consent back (WeChat refused the send for a reason that did not consume it)."""
    await WechatConsent.filter(id=consent_id, spent_by=delivery_id).update(spent_at=None, spent_by=None)


async def openid_of(user_id: int) -> str | None:
    return await WechatAccount.filter(user_id=user_id).first().values_list("openid", flat=True)


# ------------------------------------------------------------------------------------------------ deliveries


async def delivery(delivery_id: int) -> WechatDelivery | None:
    return await WechatDelivery.get_or_none(id=delivery_id)


async def update_delivery(delivery_id: int, *, expect: Iterable[DeliveryStatus] | None = None, **values: Any) -> int:
    qs = WechatDelivery.filter(id=delivery_id)
    if expect is not None:
        qs = qs.filter(status__in=list(expect))
    return await qs.update(**values, updated_at=utcnow())


def _unreachable(scope: Scope, statuses: Sequence[DeliveryStatus]):  # type: ignore[no-untyped-def]
    people = scoped_users(scope).values("id")
    return WechatDelivery.filter(
        Q(status__in=list(statuses)), urgency=Urgency.URGENT, user_id__in=Subquery(people)
    )


async def unreachable(
    scope: Scope, statuses: Sequence[DeliveryStatus], *, include_resolved: bool, before_id: int | None, limit: int
) -> list[WechatDelivery]:
    qs = _unreachable(scope, statuses).filter(item__read_at=None)
    if not include_resolved:
        qs = qs.filter(resolved_at=None)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1).select_related("item__event", "user")


async def unreachable_one(scope: Scope, statuses: Sequence[DeliveryStatus], delivery_id: int) -> WechatDelivery | None:
    return await _unreachable(scope, statuses).filter(id=delivery_id).select_related("item__event", "user").first()


# ------------------------------------------------------------------------------------------------ sockets


async def ended_sessions(session_ids: Iterable[Any]) -> set[str]:
    """Of these sessions, the ones revoked (logout, refresh-token reuse) or whose user was disabled."""
    wanted = {str(s) for s in session_ids}
    if not wanted:
        return set()
    live = await AuthSession.filter(id__in=sorted(wanted), revoked_at=None, user__is_active=True).values_list(
        "id", flat=True
    )
    return wanted - {str(s) for s in live}


async def session_alive(session_id: Any, user_id: int) -> bool:
    return await AuthSession.exists(id=session_id, user_id=user_id, revoked_at=None, user__is_active=True)


async def unit_in_scope(scope: Scope, unit_id: int) -> OrgUnit | None:
    return await scope.filter(OrgUnit.filter(id=unit_id)).first()
