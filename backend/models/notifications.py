"""Notifications: the durable inbox (the truth), delivery preferences, volunteer presence, WeChat consent.

Invariants: one inbox row per recipient per event (unique ``(user, event)``); every inbox id at or below the
*horizon* is final — committed or gone for good — because every writer holds a shared advisory lock keyed by
the id sequence's position from before it allocates until it commits (docs/adr/0020), so a cursor "after id"
read up to the horizon never skips an item that commits later; a WeChat one-time consent is spent by at most
one delivery (spent by a conditional UPDATE on ``spent_at IS NULL``).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

from backend.models.user import User

APP = "notifications"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class ConsentChoice(StrEnum):
    """What ``wx.requestSubscribeMessage`` answered for one template id."""

    ACCEPT = "accept"
    REJECT = "reject"
    BAN = "ban"  # the template was banned by WeChat
    FILTER = "filter"  # filtered by WeChat (duplicate title in one request)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not tried yet
    SENDING = "sending"  # a consent is reserved, the send is under way (or its outcome was lost in a crash)
    SENT = "sent"
    UNCERTAIN = "uncertain"  # a retry after a crash got 43101: the first send most likely went through
    NO_TEMPLATE = "no_template"  # no WeChat template configured for this kind
    DISABLED = "disabled"  # WeChat is not configured on this server
    NO_ACCOUNT = "no_account"  # the user has no WeChat account (e.g. registered by staff, no phone)
    NO_CONSENT = "no_consent"  # no one-time consent left for this template
    REJECTED = "rejected"  # 43101: WeChat says the user did not (or no longer) consent
    INVALID = "invalid"  # our payload broke the template's field rules; nothing was sent
    FAILED = "failed"  # another errcode: dead-lettered with the reason


class NotificationEvent(models.Model):
    """Something that happened and who should hear about it once: the content shared by its inbox rows."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=48)
    title = fields.CharField(max_length=64)
    body = fields.CharField(max_length=1000, default="", db_default="")
    link = fields.CharField(max_length=200, null=True)  # a mini-program page path
    urgency = fields.CharEnumField(Urgency, max_length=8, default=Urgency.NORMAL)
    data = fields.JSONField(default=dict)  # what the client and the WeChat template fields may use
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="notification_events", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_event"


class InboxItem(models.Model):
    """One recipient's copy of an event: every id at or below the inbox horizon is final (docs/adr/0020).

    Written only by ``repository.write_notification`` (one statement with the event and its outbox rows);
    afterwards only ``read_at`` and ``digest_id`` change."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="inbox_items", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation[NotificationEvent] = fields.ForeignKeyField(
        "notifications.NotificationEvent", related_name="items", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=48)
    urgency = fields.CharEnumField(Urgency, max_length=8, default=Urgency.NORMAL)
    silent = fields.BooleanField(default=False, db_default=False)  # muted kind or quiet hours: no push
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)
    digest_id = fields.BigIntField(null=True)  # the digest item that summarised this silent item

    class Meta:
        table = "inbox_item"
        unique_together = (("user_id", "event_id"),)
        indexes = (("user_id", "id"), ("user_id", "read_at"), ("silent", "digest_id"), ("event_id", "id"))


class NotificationPreference(models.Model):
    """Muted kinds and quiet hours (minutes after local midnight, Asia/Shanghai). Urgent items ignore both."""

    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "core.User", related_name="notification_preference", on_delete=fields.CASCADE
    )
    muted_kinds = fields.JSONField(default=list)
    quiet_start = fields.SmallIntField(null=True)
    quiet_end = fields.SmallIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_preference"
        constraints = (
            CheckConstraint(
                check="(quiet_start IS NULL AND quiet_end IS NULL) OR (quiet_start BETWEEN 0 AND 1439 "
                "AND quiet_end BETWEEN 0 AND 1439 AND quiet_start <> quiet_end)",
                name="notification_preference_quiet_hours",
            ),
        )


class Presence(models.Model):
    """Whether a volunteer (or department staff member) is available / on duty, and where they last were.

    Only the latest position is kept (no trail), and it is cleared when the person goes off duty: a position
    is sensitive personal information. Volunteer profiles (another issue) may replace this table later."""

    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "core.User", related_name="presence", on_delete=fields.CASCADE
    )
    available = fields.BooleanField(default=False, db_default=False)
    lat = fields.FloatField(null=True)  # GCJ-02, as wx.getLocation({type: 'gcj02'}) gives it
    lng = fields.FloatField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "presence"
        indexes = (("available", "lat"),)


class WechatConsent(models.Model):
    """One answer of ``wx.requestSubscribeMessage`` for one template. Each ``accept`` is one one-time grant,
    spent by exactly one send (``spent_by`` = the delivery)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="wechat_consents", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=64)
    choice = fields.CharEnumField(ConsentChoice, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)
    spent_at = fields.DatetimeField(null=True)
    spent_by = fields.BigIntField(null=True)

    class Meta:
        table = "wechat_consent"
        indexes = (("user_id", "template_id", "spent_at"),)


class WechatDelivery(models.Model):
    """The WeChat subscribe-message leg of one inbox item, with its outcome. Urgent items that could not be
    delivered stay visible to staff (``/notifications/unreachable``) until read or resolved by a phone call."""

    id = fields.BigIntField(primary_key=True)
    item: fields.OneToOneRelation[InboxItem] = fields.OneToOneField(
        "notifications.InboxItem", related_name="wechat_delivery", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="wechat_deliveries", on_delete=fields.CASCADE
    )
    urgency = fields.CharEnumField(Urgency, max_length=8, default=Urgency.NORMAL)
    template_id = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    consent_id = fields.BigIntField(null=True)
    attempts = fields.IntField(default=0, db_default=0)
    last_error = fields.CharField(max_length=500, null=True)
    msgid = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    sent_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="resolved_deliveries", null=True, on_delete=fields.SET_NULL
    )
    resolution_note = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "wechat_delivery"
        indexes = (("status", "urgency"),)
