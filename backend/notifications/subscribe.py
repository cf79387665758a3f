"""The WeChat leg of one inbox item: render and validate the template, spend one consent, send, record.

Order matters, and each step is committed before the next one starts:
1. checks that need no consent (WeChat configured, a template for the kind, the user's openid, a payload that
   passes the field rules) — a failure here is recorded and nothing is spent or sent;
2. the consent is spent by a conditional UPDATE together with ``status = sending`` (one consent, one send);
3. the HTTP call (``WechatClient.send_subscribe_message`` through ``call_with_token``: an expired token is
   refreshed once, single-flight across processes);
4. the outcome: ``sent``; 43101 → ``rejected`` (the consent stays spent, never retried); -1 or a transport
   error → ``Retry`` (the outbox backs off; the reserved consent is kept for the retry); anything else → the
   consent is given back, ``failed``, and the outbox event is dead-lettered with the errcode.

The WeChat leg is at most once. A worker that dies between the HTTP call and recording its outcome leaves the
delivery ``sending`` with an attempt counted and no error recorded; the retry does not send again (WeChat has no
idempotency key, and the user may hold a second consent that a resend would spend) but records ``uncertain``,
which for urgent items shows in the staff view so someone can phone. The inbox has the item either way. The
only duplicate left is a read timeout inside ``WechatClient`` (it retries transport errors), when WeChat had in
fact accepted the first request.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.expressions import F

from backend.core.db import atomic
from backend.core.timeutil import to_local, utcnow
from backend.models.notifications import DeliveryStatus, InboxItem, WechatDelivery
from backend.notifications import repository, runtime
from backend.notifications.enums import kind_label
from backend.notifications.templates import TemplateError
from backend.outbox.registry import GiveUp, Retry
from backend.wechat.exceptions import WechatError

log = logging.getLogger(__name__)

REFUSED = 43101
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def context(item: InboxItem) -> dict[str, Any]:
    """The names a template's format strings may use."""
    event = item.event
    local = to_local(event.created_at)
    values: dict[str, Any] = {k: v for k, v in (event.data or {}).items() if isinstance(v, (str, int, float))}
    values.update(
        title=event.title, body=event.body, kind_label=kind_label(item.kind),
        time=local.strftime("%Y年%m月%d日 %H:%M"), date=local.strftime("%Y年%m月%d日"),
    )
    return values


async def _finish(delivery: WechatDelivery, status: DeliveryStatus, error: str | None = None, **extra: Any) -> str:
    await repository.update_delivery(delivery.id, expect=OPEN, status=status, last_error=error and error[:500], **extra)
    return status.value


async def deliver(delivery_id: int) -> str:
    """Run one delivery (idempotent: a decided delivery is left alone); returns its status."""
    delivery = await repository.delivery(delivery_id)
    if delivery is None or delivery.status not in OPEN:
        return delivery.status if delivery else "gone"
    settings = runtime.settings()
    if not settings.wechat_configured:
        return await _finish(delivery, DeliveryStatus.DISABLED)
    item = await InboxItem.get(id=delivery.item_id).select_related("event")
    template = runtime.templates().get(item.kind)
    if template is None:
        return await _finish(delivery, DeliveryStatus.NO_TEMPLATE)
    openid = await repository.openid_of(delivery.user_id)
    if openid is None:
        return await _finish(delivery, DeliveryStatus.NO_ACCOUNT)
    try:
        data = template.render(context(item))
    except TemplateError as exc:
        await _finish(delivery, DeliveryStatus.INVALID, str(exc), template_id=template.template_id)
        raise GiveUp(f"subscribe message for {item.kind} breaks the template rules: {exc}") from exc

    if delivery.status == DeliveryStatus.SENDING and delivery.attempts and delivery.last_error is None:
        # An earlier attempt reached the HTTP call and its worker died before recording the answer.
        return await _finish(delivery, DeliveryStatus.UNCERTAIN, "worker stopped during the send; not sent again")
    consent_id = delivery.consent_id
    if consent_id is None:
        async with atomic():  # the consent and the delivery change together, or not at all
            consent_id = await repository.spend_consent(delivery.user_id, template.template_id, delivery.id)
            if consent_id is None:
                return await _finish(delivery, DeliveryStatus.NO_CONSENT, template_id=template.template_id)
            await repository.update_delivery(
                delivery.id, expect=OPEN, status=DeliveryStatus.SENDING, consent_id=consent_id,
                template_id=template.template_id,
            )
    # From here until the outcome is recorded, "sending, attempts > 0, no error" means "outcome unknown".
    await repository.update_delivery(delivery.id, expect=OPEN, attempts=F("attempts") + 1, last_error=None)
    try:
        answer = await runtime.wechat().send_subscribe_message(
            openid=openid, template_id=template.template_id, data=data,
            page=(item.event.link or "").lstrip("/") or None, state=settings.wechat_miniprogram_state,
        )
    except WechatError as exc:
        return await _failed(delivery, consent_id, exc)
    return await _finish(delivery, DeliveryStatus.SENT, msgid=str(answer.get("msgid") or "")[:40] or None,
                         sent_at=utcnow())


async def _failed(delivery: WechatDelivery, consent_id: int, exc: WechatError) -> str:
    reason = f"errcode={exc.errcode} {exc.errmsg}".strip()
    if exc.errcode == REFUSED:  # no (or no more) consent on WeChat's side: the consent stays spent, no retry
        return await _finish(delivery, DeliveryStatus.REJECTED, reason)
    if exc.errcode in (-1, None):  # busy or unreachable: the consent stays reserved for the retry
        await repository.update_delivery(delivery.id, expect=OPEN, last_error=reason[:500])
        raise Retry(reason)
    await repository.release_consent(consent_id, delivery.id)
    await _finish(delivery, DeliveryStatus.FAILED, reason, consent_id=None)
    raise GiveUp(f"subscribe message refused by WeChat: {reason}")
