"""时间银行 and 爱心积分: one append-only, double-entry ledger of hours (whole minutes) and points.

Invariants, enforced by the database and checked by ``jinlin ledger verify``: a transfer's entries sum to zero per
currency; an entry or a transfer is never updated or deleted (triggers, see migrations/ledger); an account's
materialised ``balance`` equals the sum of its entries, never drops below ``min_balance`` (CHECK), and each
entry's ``balance_after`` is the running balance. Mistakes are corrected by a reversal transfer, at most one per
original (unique ``reverses_id``). The same ``idempotency_key`` never posts twice (unique).

Model docstrings become table comments: keep ";" out of them (SQLite's migration editor splits DDL on it).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

from backend.models.org import ScopedColumns

APP = "ledger"


class Currency(StrEnum):
    HOUR = "hour"  # 时间银行, stored in whole minutes
    POINT = "point"  # 爱心积分, whole points

    @property
    def label(self) -> str:
        return {"hour": "服务时长", "point": "爱心积分"}[self.value]


class OwnerKind(StrEnum):
    USER = "user"  # a person (volunteer, resident)
    ISSUER = "issuer"  # a community's issuing account: the counterparty of earned hours and allowances
    STORE = "store"  # an 爱心超市 (opened by the store domain with its own id)
    # A community's holding account for points reserved by orders not yet settled: orders placed before ADR 27
    # (2026-12-07) still settle from it; new orders hold in the person's own ``HOLD`` account.
    ESCROW = "escrow"
    HOLD = "hold"  # a person's points reserved by their orders not yet settled (floor 0; owner id = user id)


PERSONAL = (OwnerKind.USER, OwnerKind.HOLD)  # accounts owned by a person (owner id = user id): scoped by person


class TransferKind(StrEnum):
    EARN_SERVICE = "earn_service"
    EARN_ACTIVITY = "earn_activity"
    AWARD = "award"
    ALLOWANCE = "allowance"
    RESERVE = "reserve"
    RELEASE = "release"
    REDEEM_GOODS = "redeem_goods"
    PAY_SERVICE = "pay_service"
    GIFT_TO_FAMILY = "gift_to_family"
    EXPIRE = "expire"
    MERGE = "merge"
    REVERSAL = "reversal"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    TransferKind.EARN_SERVICE: "志愿服务",
    TransferKind.EARN_ACTIVITY: "参加活动",
    TransferKind.AWARD: "表彰奖励",
    TransferKind.ALLOWANCE: "每月关爱积分",
    TransferKind.RESERVE: "下单冻结",
    TransferKind.RELEASE: "订单取消退回",
    TransferKind.REDEEM_GOODS: "爱心超市兑换",
    TransferKind.PAY_SERVICE: "兑换服务",
    TransferKind.GIFT_TO_FAMILY: "转赠家人",
    TransferKind.EXPIRE: "到期清零",
    TransferKind.MERGE: "账号合并",
    TransferKind.REVERSAL: "冲正",
}


class AwardStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Account(models.Model, ScopedColumns):
    """One owner's balance in one currency. Org-owned accounts carry their community's ancestor ids (for
    Scope), and a person's account is scoped through the person (``backend.users.repository.scoped_users``)."""

    id = fields.BigIntField(primary_key=True)
    owner_kind = fields.CharEnumField(OwnerKind, max_length=8)
    owner_id = fields.BigIntField()  # user id, community unit id, or the store domain's store id
    currency = fields.CharEnumField(Currency, max_length=8)
    balance = fields.BigIntField(default=0, db_default=0)
    min_balance = fields.BigIntField(null=True, default=0)  # the floor; NULL = unbounded (issuing accounts)
    earned = fields.BigIntField(default=0, db_default=0)  # lifetime service/activity minutes (奉献嘉评)
    name = fields.CharField(max_length=64, null=True)  # label of org-owned accounts
    show_on_leaderboard = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_account"
        unique_together = (("owner_kind", "owner_id", "currency"),)
        constraints = (
            CheckConstraint(check="min_balance IS NULL OR balance >= min_balance", name="ledger_account_floor"),
            CheckConstraint(check="earned >= 0", name="ledger_account_earned_nonneg"),
        )


class Transfer(models.Model, ScopedColumns):
    """An immutable movement between accounts. Its place (ancestor ids) is the community (and grid) it
    happened in, which is what staff scoping uses."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(TransferKind, max_length=16)
    reason = fields.CharField(max_length=200)
    actor_id = fields.BigIntField(null=True)  # the user who caused it; NULL for scheduled jobs
    link_type = fields.CharField(max_length=16, null=True)  # "task", "activity", "order", "household"…
    link_id = fields.CharField(max_length=64, null=True)
    idempotency_key = fields.CharField(max_length=160, null=True, unique=True)
    reverses: fields.OneToOneNullableRelation[Transfer] = fields.OneToOneField(  # one reversal per original
        "ledger.Transfer", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "ledger_transfer"
        indexes = (("link_type", "link_id"),)


class Entry(models.Model):
    """One leg of a transfer: never created or changed by itself."""

    id = fields.BigIntField(primary_key=True)
    transfer: fields.ForeignKeyRelation[Transfer] = fields.ForeignKeyField(
        "ledger.Transfer", related_name="entries", on_delete=fields.RESTRICT, db_index=True
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "ledger.Account", related_name="entries", on_delete=fields.RESTRICT, db_index=False
    )
    currency = fields.CharEnumField(Currency, max_length=8)
    amount = fields.BigIntField()
    balance_after = fields.BigIntField()
    earning = fields.BooleanField(default=False)  # counts towards the account's lifetime ``earned``
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entry"
        indexes = (("account_id", "id"), ("account_id", "created_at"))
        constraints = (CheckConstraint(check="amount <> 0", name="ledger_entry_nonzero"),)


class Rules(models.Model):
    """A community's rules as data (a community without a row uses the defaults in ``backend.ledger.rules``)."""

    id = fields.BigIntField(primary_key=True)
    unit_id = fields.BigIntField(unique=True)  # the community (org unit)
    delivery_base_minutes = fields.IntField()
    delivery_minutes_per_km = fields.IntField()
    help_base_minutes = fields.IntField()
    help_minutes_per_km = fields.IntField()
    max_minutes_per_task = fields.IntField()
    points_per_hour = fields.IntField()
    allowance_points = fields.JSONField(default=dict)  # household flag -> points per month
    allowance_max_points = fields.IntField()
    gift_yearly_cap_minutes = fields.IntField()
    expiry_years = fields.IntField(null=True)  # NULL: hours never expire
    credit_limit_minutes = fields.IntField()
    credit_limit_points = fields.IntField()
    award_threshold_minutes = fields.IntField()
    award_threshold_points = fields.IntField()
    star_thresholds_hours = fields.JSONField(default=list)  # lifetime hours for 1★, 2★, …
    updated_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "ledger_rules"


class GiftQuota(models.Model):
    """Minutes an account has gifted to family in one year. The cap is a conditional UPDATE on this row."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "ledger.Account", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    year = fields.IntField()
    used_minutes = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "ledger_gift_quota"
        unique_together = (("account_id", "year"),)
        constraints = (CheckConstraint(check="used_minutes >= 0", name="ledger_gift_quota_nonneg"),)


class PendingAward(models.Model, ScopedColumns):
    """A staff award above the community's threshold, waiting for a second staff member to approve it."""

    id = fields.BigIntField(primary_key=True)
    recipient_id = fields.BigIntField(db_index=True)
    currency = fields.CharEnumField(Currency, max_length=8)
    amount = fields.BigIntField()
    reason = fields.CharField(max_length=200)
    requested_by_id = fields.BigIntField()
    idempotency_key = fields.CharField(max_length=160, null=True, unique=True)
    status = fields.CharEnumField(AwardStatus, max_length=10, default=AwardStatus.PENDING)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=200, null=True)
    transfer_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_pending_award"
        constraints = (
            CheckConstraint(check="amount > 0", name="ledger_pending_award_positive"),
            CheckConstraint(
                check="status <> 'approved' OR (decided_by_id IS NOT NULL AND decided_by_id <> requested_by_id)",
                name="ledger_pending_award_four_eyes",
            ),
        )
