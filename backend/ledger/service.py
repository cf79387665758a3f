"""时间银行 and 爱心积分: what other domains and the routes call, as ``from backend.ledger import service as ledger``.

Every function takes explicit arguments, joins the caller's ``atomic()`` (a savepoint, so a refused posting
rolls back only itself), and returns a ``Posted`` (the transfer and its entries; ``replayed`` when its
idempotency key had already posted it). Keys derived from what caused a posting (``earn_service:task:42:7``,
``order:9:settle``, ``allowance:<household>:2026-11``) make "an hour is never credited twice" a unique index.
The generic entry point is ``ledger.post(kind, legs, …)`` with ``Leg(user(7), Currency.HOUR, 90)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from backend.core import audit
from backend.core.db import atomic
from backend.core.errors import BadRequest
from backend.core.timeutil import to_local, utcnow
from backend.ledger import repository
from backend.ledger import rules as community_rules
from backend.ledger.exceptions import (
    AwardNotPending,
    CannotReverse,
    GiftCapExceeded,
    IdempotencyKeyConflict,
    NoCommunity,
    NotACommunity,
    NothingReserved,
    SameApprover,
    StoreNotFound,
)
from backend.ledger.posting import open_account, post
from backend.ledger.rules import TaskKind
from backend.ledger.types import Leg, Owner, Place, Posted, PostedEntry, escrow, hold, issuer, store, user
from backend.models.ledger import (
    Account,
    AwardStatus,
    Currency,
    GiftQuota,
    OwnerKind,
    PendingAward,
    Transfer,
    TransferKind,
)
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role
from backend.users.merge import on_user_merged

__all__ = [
    "Leg", "Owner", "Place", "Posted", "TaskKind", "award", "approve_award", "community_of", "earn_activity",
    "earn_service", "escrow", "gift_hours", "hold", "issuer", "open_store_account", "pay_service", "post",
    "preview_redemption", "redeem", "redeem_reserved", "reject_award", "release_reserved", "reserve_key",
    "reserve_legs", "reserve_points", "reserve_reason", "reverse", "store", "user",
]

LEDGER_READERS = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
LEDGER_WRITERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


async def community_of(community_id: int | None, *, person_id: int | None = None) -> OrgUnit:
    """The community unit to post in: the one given, else the person's home community."""
    if community_id is None and person_id is not None:
        community_id = await repository.home_community_id(person_id)
    if community_id is None:
        raise NoCommunity()
    unit = await OrgUnit.get_or_none(id=community_id)
    if unit is None or unit.level != OrgLevel.COMMUNITY:
        raise NotACommunity(detail={"community_id": community_id})
    return unit


async def update_rules(community: OrgUnit, rules: community_rules.CommunityRules, *, actor_id: int
                       ) -> community_rules.CommunityRules:
    """Replace a community's rules (audited)."""
    async with atomic():
        await community_rules.save(community.id, rules, actor_id=actor_id)
        await audit.record("ledger:rules", actor_id=actor_id, object_type="org_unit", object_id=community.id,
                           detail=rules.__dict__)
    return rules


# ------------------------------------------------------------------------------------------------ earning


def _earning_legs(volunteer_id: int, community_id: int, minutes: int, points: int) -> list[Leg]:
    legs = [Leg(user(volunteer_id), Currency.HOUR, minutes, earning=True),
            Leg(issuer(community_id), Currency.HOUR, -minutes)]
    if points > 0:
        legs += [Leg(user(volunteer_id), Currency.POINT, points), Leg(issuer(community_id), Currency.POINT, -points)]
    return legs


async def earn_service(
    volunteer_id: int, *, community: OrgUnit, task_id: int | None = None, task_kind: TaskKind = TaskKind.DELIVERY,
    distance_m: int | None = None, minutes: int | None = None, actor_id: int | None = None,
    place: OrgUnit | None = None, reason: str | None = None, idempotency_key: str | None = None,
) -> Posted:
    """Credit a volunteer for a confirmed task: minutes by the community's rules (unless given), plus points at
    its hours → points rate. With a ``task_id`` the key is the task's, so a task credits a volunteer once."""
    rules = await community_rules.for_community(community.id)
    minutes = minutes or rules.task_minutes(task_kind, distance_m)
    key = f"earn_service:task:{task_id}:{volunteer_id}" if task_id is not None else idempotency_key
    label = "配送" if task_kind is TaskKind.DELIVERY else "帮办"
    return await post(
        TransferKind.EARN_SERVICE, _earning_legs(volunteer_id, community.id, minutes, rules.points_for(minutes)),
        reason=reason or f"志愿服务（{label}）{minutes} 分钟", place=Place.of(place or community),
        actor_id=actor_id, idempotency_key=key, link=("task", task_id) if task_id is not None else None,
    )


async def earn_activity(
    volunteer_id: int, *, community: OrgUnit, minutes: int, activity_id: int | None = None,
    actor_id: int | None = None, reason: str | None = None, idempotency_key: str | None = None,
) -> Posted:
    """Credit a volunteer for taking part in an activity (once per activity with an ``activity_id``)."""
    rules = await community_rules.for_community(community.id)
    key = f"earn_activity:{activity_id}:{volunteer_id}" if activity_id is not None else idempotency_key
    return await post(
        TransferKind.EARN_ACTIVITY, _earning_legs(volunteer_id, community.id, minutes, rules.points_for(minutes)),
        reason=reason or f"参加活动 {minutes} 分钟", place=Place.of(community), actor_id=actor_id,
        idempotency_key=key, link=("activity", activity_id) if activity_id is not None else None,
    )


async def pay_service(
    user_id: int, minutes: int, *, community: OrgUnit, task_id: int, actor_id: int | None = None
) -> Posted:
    """Spend hours on a service (the hours go back to the community that pays the volunteers who serve)."""
    return await post(
        TransferKind.PAY_SERVICE, [Leg(user(user_id), Currency.HOUR, -minutes),
                                   Leg(issuer(community.id), Currency.HOUR, minutes)],
        reason=f"兑换服务 {minutes} 分钟", place=Place.of(community), actor_id=actor_id,
        idempotency_key=f"pay_service:task:{task_id}:{user_id}", link=("task", task_id),
    )


# ------------------------------------------------------------------------------------------------- awards


@dataclass
class AwardOutcome:
    posted: Posted | None = None
    pending: PendingAward | None = None


async def award(
    recipient_id: int, *, community: OrgUnit, currency: Currency, amount: int, reason: str, actor_id: int,
    idempotency_key: str | None = None,
) -> AwardOutcome:
    """A staff award (表彰奖励). Above the community's threshold it waits for a second approver."""
    rules = await community_rules.for_community(community.id)
    async with atomic():
        if amount > rules.award_threshold(currency):
            return AwardOutcome(pending=await _request_award(
                recipient_id, community=community, currency=currency, amount=amount, reason=reason,
                actor_id=actor_id, idempotency_key=idempotency_key,
            ))
        posted = await post(
            TransferKind.AWARD, [Leg(user(recipient_id), currency, amount), Leg(issuer(community.id), currency, -amount)],
            reason=reason, place=Place.of(community), actor_id=actor_id, idempotency_key=idempotency_key,
        )
        if not posted.replayed:
            await audit.record("ledger:award", actor_id=actor_id, object_type="ledger_transfer",
                               object_id=posted.transfer.id, detail={"recipient_id": recipient_id,
                                                                      "currency": currency.value, "amount": amount})
    return AwardOutcome(posted=posted)


async def _request_award(
    recipient_id: int, *, community: OrgUnit, currency: Currency, amount: int, reason: str, actor_id: int,
    idempotency_key: str | None,
) -> PendingAward:
    fields = dict(recipient_id=recipient_id, currency=currency, amount=amount, reason=reason,
                  requested_by_id=actor_id, idempotency_key=idempotency_key, street_id=community.street_id,
                  community_id=community.community_id, grid_id=None, compound_id=None)
    try:
        async with atomic():
            pending = await PendingAward.create(**fields)
    except IntegrityError:
        pending = await PendingAward.get_or_none(idempotency_key=idempotency_key)
        if pending is None:
            raise
        return pending
    await audit.record("ledger:award_requested", actor_id=actor_id, object_type="ledger_pending_award",
                       object_id=pending.id, detail={"recipient_id": recipient_id, "currency": currency.value,
                                                     "amount": amount})
    return pending


async def approve_award(pending: PendingAward, *, approver_id: int, note: str | None = None) -> Posted:
    """The second staff member approves: the award is posted (a different person than who asked, also a CHECK)."""
    async with atomic():
        changed = await PendingAward.filter(id=pending.id, status=AwardStatus.PENDING).exclude(
            requested_by_id=approver_id
        ).update(status=AwardStatus.APPROVED, decided_by_id=approver_id, decided_at=utcnow(), decision_note=note)
        if not changed:
            fresh = await PendingAward.get(id=pending.id)
            raise AwardNotPending() if fresh.status != AwardStatus.PENDING else SameApprover()
        currency = Currency(pending.currency)
        posted = await post(
            TransferKind.AWARD, [Leg(user(pending.recipient_id), currency, pending.amount),
                                 Leg(issuer(pending.community_id), currency, -pending.amount)],
            reason=pending.reason, place=Place.of(pending), actor_id=approver_id,
            idempotency_key=f"award:{pending.id}", link=("pending_award", pending.id),
        )
        await PendingAward.filter(id=pending.id).update(transfer_id=posted.transfer.id)
        await audit.record("ledger:award_approved", actor_id=approver_id, object_type="ledger_pending_award",
                           object_id=pending.id, detail={"transfer_id": posted.transfer.id,
                                                         "requested_by_id": pending.requested_by_id})
    return posted


async def reject_award(pending: PendingAward, *, actor_id: int, note: str | None = None) -> PendingAward:
    async with atomic():
        changed = await PendingAward.filter(id=pending.id, status=AwardStatus.PENDING).update(
            status=AwardStatus.REJECTED, decided_by_id=actor_id, decided_at=utcnow(), decision_note=note
        )
        if not changed:
            raise AwardNotPending()
        await audit.record("ledger:award_rejected", actor_id=actor_id, object_type="ledger_pending_award",
                           object_id=pending.id, detail={"note": note})
    return await PendingAward.get(id=pending.id)


# -------------------------------------------------------------------------------------------------- gifts


async def gift_hours(
    giver_id: int, recipient_id: int, minutes: int, *, relation: str, actor_id: int,
    idempotency_key: str | None = None,
) -> Posted:
    """存给父母: give hours to a family member, within the giver's community's yearly cap (a conditional
    UPDATE on the giver's quota row for this year, in the same transaction)."""
    if giver_id == recipient_id:
        raise BadRequest("不能转赠给自己", detail={"loc": "body.to_phone"})
    community_id = await repository.home_community_id(giver_id)
    rules = await community_rules.for_community(community_id)
    home = await OrgUnit.get_or_none(id=community_id) if community_id else None
    async with atomic():
        posted = await post(
            TransferKind.GIFT_TO_FAMILY, [Leg(user(giver_id), Currency.HOUR, -minutes),
                                          Leg(user(recipient_id), Currency.HOUR, minutes)],
            reason=f"转赠给{relation}", place=Place.of(home), actor_id=actor_id, idempotency_key=idempotency_key,
            link=("user", recipient_id),
        )
        if not posted.replayed:
            giver_account = next(e.account_id for e in posted.entries if e.owner == user(giver_id))
            year = to_local(posted.transfer.created_at).year
            await GiftQuota.bulk_create([GiftQuota(account_id=giver_account, year=year)], ignore_conflicts=True)
            used = await GiftQuota.filter(
                account_id=giver_account, year=year, used_minutes__lte=rules.gift_yearly_cap_minutes - minutes
            ).update(used_minutes=F("used_minutes") + minutes)
            if not used:
                raise GiftCapExceeded(detail={"cap_minutes": rules.gift_yearly_cap_minutes, "year": year})
    return posted


async def gift_used(user_id: int) -> int:
    """Minutes the person has gifted this year."""
    account = await repository.account_of(user(user_id), Currency.HOUR)
    if account is None:
        return 0
    quota = await GiftQuota.get_or_none(account_id=account.id, year=to_local(utcnow()).year)
    return quota.used_minutes if quota else 0


# ---------------------------------------------------------------------------------------- 爱心超市 points


async def open_store_account(store_id: int, *, community: OrgUnit, name: str, actor_id: int | None) -> Account:
    """Open the points account of an 爱心超市 (the store domain calls this with its own store id)."""
    async with atomic():
        await open_account(store(store_id), Currency.POINT, name=name, unit=community)
        account = await repository.account_of(store(store_id), Currency.POINT)
        assert account is not None
        await audit.record("ledger:open_store", actor_id=actor_id, object_type="ledger_account",
                           object_id=account.id, detail={"store_id": store_id})
    return account


async def _store_account(store_id: int) -> Account:
    account = await repository.account_of(store(store_id), Currency.POINT)
    if account is None:
        raise StoreNotFound(detail={"store_id": store_id})
    return account


@dataclass
class RedemptionPreview:
    balance: int
    min_balance: int
    points: int
    balance_after: int
    enough: bool
    shortfall: int


async def preview_redemption(user_id: int, *, store_id: int, points: int) -> RedemptionPreview:
    """What redeeming ``points`` would leave (nothing is written)."""
    await _store_account(store_id)
    account = await repository.account_of(user(user_id), Currency.POINT)
    balance = account.balance if account else 0
    if account is not None and account.min_balance is not None:
        floor = account.min_balance
    else:
        rules = await community_rules.for_community(await repository.home_community_id(user_id))
        floor = -rules.credit_limit(Currency.POINT)
    after = balance - points
    return RedemptionPreview(balance=balance, min_balance=floor, points=points, balance_after=after,
                             enough=after >= floor, shortfall=max(0, floor - after))


async def redeem(
    user_id: int, *, store_id: int, points: int, actor_id: int, idempotency_key: str | None,
    note: str | None = None, order_id: int | None = None,
) -> Posted:
    """Spend points at an 爱心超市 counter (one step: the person's points go to the store, where it happens)."""
    return await post(
        TransferKind.REDEEM_GOODS, [Leg(user(user_id), Currency.POINT, -points), Leg(store(store_id), Currency.POINT, points)],
        reason=note or "爱心超市兑换", place=store(store_id), actor_id=actor_id, idempotency_key=idempotency_key,
        link=("order", order_id) if order_id is not None else ("store", store_id),
    )


def reserve_legs(user_id: int, points: int) -> list[Leg]:
    """An order's reserve transfer: the person's points to their own hold account (ADR 27). Only that
    person's rows are locked, so orders of different people never queue on a shared account."""
    return [Leg(user(user_id), Currency.POINT, -points), Leg(hold(user_id), Currency.POINT, points)]


def reserve_reason(order_id: int | str) -> str:
    return f"订单 #{order_id} 冻结积分"


def reserve_key(order_id: int | str) -> str:
    """The reserve transfer's idempotency key: one reservation per order."""
    return f"order:{order_id}:reserve"


async def reserve_points(
    user_id: int, points: int, *, community: OrgUnit, order_id: int, actor_id: int | None
) -> Posted:
    """Hold points for an order (下单冻结): they move to the person's hold account until the order settles.
    (On PostgreSQL an order reserves inside its own statement, ``store_order_hold``, with these same legs,
    reason and key.)"""
    return await post(
        TransferKind.RESERVE, reserve_legs(user_id, points),
        reason=reserve_reason(order_id), place=Place.of(community), actor_id=actor_id,
        idempotency_key=reserve_key(order_id), link=("order", order_id),
    )


async def _reservation(order_id: int) -> tuple[Transfer, list[PostedEntry]]:
    """The reserve transfer of an order and its entries (the payer's debit, the holding account's credit)."""
    reserve = await repository.transfer_by_key(reserve_key(order_id))
    if reserve is None:
        raise NothingReserved(detail={"order_id": order_id})
    return reserve, await repository.posted_entries(reserve.id)


async def _settle(order_id: int, kind: TransferKind, to: Owner, *, resident_id: int, actor_id: int | None,
                  reason: str, reservation: tuple[Transfer, list[PostedEntry]] | None = None) -> Posted:
    """Move an order's held points on (to the store, or back to the person). They come out of the hold account
    of the order's person *now*: a placeholder account merged into the real one took its orders and its held
    points along (``_move_balances``). An order reserved before ADR 27 settles from the escrow it used."""
    reserve, entries = reservation or await _reservation(order_id)
    held = next(e for e in entries if e.amount > 0)
    source = hold(resident_id) if held.owner.kind is OwnerKind.HOLD else held.owner
    try:
        return await post(
            kind, [Leg(source, Currency.POINT, -held.amount), Leg(to, Currency.POINT, held.amount)],
            reason=reason, place=Place.of(reserve), actor_id=actor_id, idempotency_key=f"order:{order_id}:settle",
            link=("order", order_id),
        )
    except IdempotencyKeyConflict as exc:
        raise IdempotencyKeyConflict("该订单的积分已结算", detail=exc.detail) from exc


async def redeem_reserved(order_id: int, *, store_id: int, resident_id: int, actor_id: int | None) -> Posted:
    """The order was delivered: the held points go to the store. An order settles once (redeem or release)."""
    await _store_account(store_id)
    return await _settle(order_id, TransferKind.REDEEM_GOODS, store(store_id), resident_id=resident_id,
                         actor_id=actor_id, reason=f"订单 #{order_id} 兑换")


async def release_reserved(order_id: int, *, resident_id: int, actor_id: int | None) -> Posted:
    """The order was cancelled: the held points go back to the order's person (after a merge, the real account,
    not the placeholder that placed it)."""
    return await _settle(order_id, TransferKind.RELEASE, user(resident_id), resident_id=resident_id,
                         actor_id=actor_id, reason=f"订单 #{order_id} 取消退回")


# ------------------------------------------------------------------------------------------- corrections


async def reverse(transfer: Transfer, *, actor_id: int, reason: str) -> Posted:
    """Correct a mistake with the mirror transfer (once per original: unique ``reverses_id``), audited."""
    if transfer.kind == TransferKind.REVERSAL:
        raise CannotReverse(detail={"transfer_id": transfer.id})
    entries = await repository.posted_entries(transfer.id)
    legs = [Leg(e.owner, e.currency, -e.amount, earning=e.earning) for e in entries]
    async with atomic():
        posted = await post(
            TransferKind.REVERSAL, legs, reason=f"冲正 #{transfer.id}：{reason}", place=Place.of(transfer),
            actor_id=actor_id, reverses_id=transfer.id, link=("transfer", transfer.id),
        )
        if transfer.kind == TransferKind.GIFT_TO_FAMILY:  # the gifted minutes count against the cap no more
            giver = next(e for e in entries if e.amount < 0)
            await GiftQuota.filter(account_id=giver.account_id, year=to_local(transfer.created_at).year).update(
                used_minutes=F("used_minutes") + giver.amount
            )
        await audit.record("ledger:reverse", actor_id=actor_id, object_type="ledger_transfer",
                           object_id=transfer.id, detail={"reversal_id": posted.transfer.id, "reason": reason})
    return posted


@on_user_merged
async def _move_balances(from_user_id: int, to_user_id: int) -> None:
    """A placeholder account merged into the real one: its balances follow (lifetime hours stay with it), and
    so do the points held for its open orders, which move to the real person with the orders themselves."""
    for currency, account in sorted((await repository.accounts_of_user(from_user_id)).items()):
        if account.balance:
            await post(
                TransferKind.MERGE, [Leg(user(from_user_id), currency, -account.balance),
                                     Leg(user(to_user_id), currency, account.balance)],
                reason="账号合并", idempotency_key=f"merge:{from_user_id}:{to_user_id}:{currency.value}",
                link=("user", from_user_id),
            )
    holding = await repository.account_of(hold(from_user_id), Currency.POINT)  # points held for open orders
    held = holding.balance if holding is not None else 0
    if held:
        await post(
            TransferKind.MERGE, [Leg(hold(from_user_id), Currency.POINT, -held),
                                 Leg(hold(to_user_id), Currency.POINT, held)],
            reason="账号合并（冻结积分）", idempotency_key=f"merge:{from_user_id}:{to_user_id}:hold",
            link=("user", from_user_id),
        )
