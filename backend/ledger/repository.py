"""Queries of the ledger. Every list a staff member sees starts from ``Scope``: a person's account is visible
when the person is (``backend.users.repository.scoped_users``), an organisation's account and a transfer when
their place is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from backend.core import sql
from backend.ledger.types import Owner, PostedEntry
from backend.models.ledger import (
    PERSONAL,
    Account,
    AwardStatus,
    Currency,
    Entry,
    OwnerKind,
    PendingAward,
    Transfer,
    TransferKind,
)
from backend.models.org import Household
from backend.models.user import RoleGrant, User
from backend.org.scope import Scope
from backend.users.repository import scoped_users

# ------------------------------------------------------------------------------------------------ people


async def home_community_id(user_id: int) -> int | None:
    """A person's community: their household's, else that of their first grant below a street."""
    user = await User.get_or_none(id=user_id).only("id", "household_id")
    if user is not None and user.household_id is not None:
        household = await Household.get_or_none(id=user.household_id).only("id", "community_id")
        if household is not None and household.community_id is not None:
            return household.community_id
    grants = await RoleGrant.filter(user_id=user_id, org_unit_id__not_isnull=True).order_by("id").select_related(
        "org_unit"
    )
    return next((g.org_unit.community_id for g in grants if g.org_unit.community_id is not None), None)


async def active_user_by_phone(phone: str) -> User | None:
    return await User.get_or_none(phone=phone, is_active=True)


async def users_by_id(ids: list[int]) -> dict[int, User]:
    return {u.id: u for u in await User.filter(id__in=ids).only("id", "name")}


async def primary_residents(household_ids: list[int]) -> dict[int, int]:
    """Household id -> the id of its first active resident (who receives the household's allowance)."""
    rows = await User.filter(household_id__in=household_ids, is_active=True).order_by("id").values_list(
        "household_id", "id"
    )
    out: dict[int, int] = {}
    for household_id, user_id in rows:
        out.setdefault(household_id, user_id)
    return out


# ---------------------------------------------------------------------------------------------- accounts


async def account_of(owner: Owner, currency: Currency) -> Account | None:
    return await Account.get_or_none(owner_kind=owner.kind, owner_id=owner.id, currency=currency)


async def accounts_of_user(user_id: int) -> dict[Currency, Account]:
    rows = await Account.filter(owner_kind=OwnerKind.USER, owner_id=user_id)
    return {Currency(a.currency): a for a in rows}


def visible_accounts(scope: Scope) -> QuerySet[Account]:
    if scope.everything:
        return Account.all()
    people = Subquery(scoped_users(scope).values("id"))
    return Account.filter(
        Q(owner_kind__in=PERSONAL, owner_id__in=people) | (~Q(owner_kind__in=PERSONAL) & scope.q())
    )


async def account(scope: Scope, account_id: int) -> Account | None:
    return await visible_accounts(scope).filter(id=account_id).first()


async def accounts(
    scope: Scope, *, owner_kind: OwnerKind | None, currency: Currency | None, before_id: int | None, limit: int
) -> list[Account]:
    qs = visible_accounts(scope)
    if owner_kind is not None:
        qs = qs.filter(owner_kind=owner_kind)
    if currency is not None:
        qs = qs.filter(currency=currency)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


def hour_accounts_in(scope: Scope) -> QuerySet[Account]:
    """People's hour accounts in a unit (for leaderboards)."""
    return Account.filter(
        owner_kind=OwnerKind.USER, currency=Currency.HOUR, owner_id__in=Subquery(scoped_users(scope).values("id"))
    )


# ----------------------------------------------------------------------------------------------- entries


def _entries_of(account_id: int) -> QuerySet[Entry]:
    """One account's entries, written so that PostgreSQL reads them through the (account_id, …) indexes.

    ``account_id = x`` lets the planner drop ``account_id`` from ``ORDER BY account_id, id`` and walk the primary
    key instead, filtering, whenever its statistics say the account owns a large share of all entries: for an
    account whose own entries are old, that walk crosses every newer entry of every other account (measured:
    17 ms instead of 0.1 ms for a statement page). The equivalent range ``x <= account_id <= x`` keeps the
    ordering on ``account_id`` meaningful, so only the composite index serves it, from the right place."""
    return Entry.filter(account_id__gte=account_id, account_id__lte=account_id)


async def statement(account_id: int, *, before_id: int | None, limit: int) -> list[Entry]:
    """Newest first, ``limit + 1`` rows (the extra one proves there is a next page)."""
    qs = _entries_of(account_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-account_id", "-id").limit(limit + 1).select_related("transfer")


async def entries_batch(account_id: int, *, after_id: int, start: datetime | None, end: datetime | None,
                        limit: int) -> list[Entry]:
    """Oldest first from ``after_id``, for exports that stream in batches."""
    qs = _entries_of(account_id).filter(id__gt=after_id)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    return await qs.order_by("account_id", "id").limit(limit).select_related("transfer")


async def count_entries(account_id: int, start: datetime | None, end: datetime | None) -> int:
    qs = Entry.filter(account_id=account_id)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    return await qs.count()


async def balance_before(account_id: int, when: datetime) -> int:
    """The account's balance just before ``when`` (the running balance of its last earlier entry)."""
    entry = await _entries_of(account_id).filter(created_at__lt=when).order_by(
        "-account_id", "-created_at", "-id").only("id", "balance_after").first()
    return entry.balance_after if entry else 0


async def totals_by_kind(account_id: int, start: datetime, end: datetime) -> list[dict]:
    """Per transfer kind: credits, debits and how many entries, in [start, end)."""
    out: dict[str, dict] = {}
    for sign, lookup in (("credits", "amount__gt"), ("debits", "amount__lt")):
        rows = await Entry.filter(account_id=account_id, created_at__gte=start, created_at__lt=end, **{lookup: 0}) \
            .annotate(total=Sum("amount"), n=Count("id")).group_by("transfer__kind") \
            .values("transfer__kind", "total", "n")
        for row in rows:
            item = out.setdefault(row["transfer__kind"], {"kind": row["transfer__kind"], "credits": 0, "debits": 0,
                                                           "count": 0})
            item[sign] = abs(int(row["total"] or 0))
            item["count"] += int(row["n"])
    return sorted(out.values(), key=lambda r: r["kind"])


# Replays, settlements and reversals read a posted transfer back: constant SQL (backend/core/sql.py), not the
# query builder, which cost more than the rest of an idempotent replay together.
_TRANSFER_BY_KEY = "SELECT * FROM ledger_transfer WHERE idempotency_key = $1"
_POSTED_ENTRIES = (
    "SELECT e.account_id, a.owner_kind, a.owner_id, e.currency, e.amount, e.balance_after, e.earning"
    " FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id WHERE e.transfer_id = $1 ORDER BY e.id"
)


def _posted(row: Any) -> PostedEntry:
    return PostedEntry(row[0], Owner(OwnerKind(row[1]), row[2]), Currency(row[3]), row[4], row[5], bool(row[6]))


async def posted_entries(transfer_id: int) -> list[PostedEntry]:
    return [_posted(row) for row in await sql.rows(_POSTED_ENTRIES, transfer_id)]


async def posted_entries_many(transfer_ids: list[int]) -> dict[int, list[PostedEntry]]:
    out: dict[int, list[PostedEntry]] = {t: [] for t in transfer_ids}
    for e in await Entry.filter(transfer_id__in=transfer_ids).order_by("id").select_related("account"):
        out[e.transfer_id].append(
            PostedEntry(e.account_id, Owner(OwnerKind(e.account.owner_kind), e.account.owner_id),
                        Currency(e.currency), e.amount, e.balance_after, e.earning)
        )
    return out


async def earned_between(accounts: QuerySet[Account], start: datetime, end: datetime, limit: int) -> list[dict]:
    """Minutes earned in [start, end) per account, most first (for monthly/yearly leaderboards)."""
    return await Entry.filter(
        earning=True, created_at__gte=start, created_at__lt=end, account_id__in=Subquery(accounts.values("id"))
    ).annotate(total=Sum("amount")).group_by("account_id").order_by("-total", "account_id").limit(limit).values(
        "account_id", "total"
    )


# --------------------------------------------------------------------------------------------- transfers


def visible_transfers(scope: Scope) -> QuerySet[Transfer]:
    return scope.filter(Transfer.all())


async def transfer(scope: Scope, transfer_id: int) -> Transfer | None:
    return await visible_transfers(scope).filter(id=transfer_id).first()


async def transfers(scope: Scope, *, kind: TransferKind | None, before_id: int | None, limit: int) -> list[Transfer]:
    qs = visible_transfers(scope)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)


async def transfer_by_key(key: str) -> Transfer | None:
    found = await sql.fetch(_TRANSFER_BY_KEY, key)
    return Transfer._init_from_db(**found[0]) if found else None


async def existing_keys(keys: list[str]) -> set[str]:
    return set(await Transfer.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))


# ----------------------------------------------------------------------------------------------- awards


def visible_pending(scope: Scope) -> QuerySet[PendingAward]:
    return scope.filter(PendingAward.all())


async def pending_award(scope: Scope, award_id: int) -> PendingAward | None:
    return await visible_pending(scope).filter(id=award_id).first()


async def pending_awards(scope: Scope, *, status: AwardStatus | None, before_id: int | None,
                         limit: int) -> list[PendingAward]:
    qs = visible_pending(scope)
    if status is not None:
        qs = qs.filter(status=status)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return await qs.order_by("-id").limit(limit + 1)
