"""The reading side of the ledger: account summaries, statements with running balance (cursor pages), monthly
statements, and leaderboards. Months are calendar months in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.core.pagination import Page, encode_cursor
from backend.core.timeutil import SHANGHAI, to_local, utcnow
from backend.ledger import repository, service
from backend.ledger import rules as community_rules
from backend.ledger.posting import open_account
from backend.ledger.schemas import (
    AccountOut,
    EntryOut,
    KindTotal,
    Leaderboard,
    LeaderboardRow,
    MonthlyStatement,
    MyLedger,
    Period,
    StatementLine,
    Summary,
    TransferOut,
)
from backend.ledger.types import Posted, PostedEntry, user
from backend.models.ledger import PERSONAL, Account, Currency, Entry, OwnerKind, Transfer, TransferKind
from backend.models.org import OrgUnit
from backend.org.scope import unit_scope


def month_range(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a "YYYY-MM" month in Shanghai time, as UTC datetimes."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def current_month(now: datetime | None = None) -> str:
    return to_local(now or utcnow()).strftime("%Y-%m")


def transfer_out(transfer: Transfer, entries: list[PostedEntry], *, replayed: bool = False) -> TransferOut:
    return TransferOut(
        id=transfer.id, kind=TransferKind(transfer.kind), kind_label=TransferKind(transfer.kind).label,
        reason=transfer.reason, actor_id=transfer.actor_id, link_type=transfer.link_type, link_id=transfer.link_id,
        reverses_id=transfer.reverses_id, community_id=transfer.community_id, created_at=transfer.created_at,
        entries=[EntryOut(account_id=e.account_id, owner_kind=e.owner.kind, owner_id=e.owner.id, currency=e.currency,
                          amount=e.amount, balance_after=e.balance_after) for e in entries],
        replayed=replayed,
    )


def posted_out(posted: Posted) -> TransferOut:
    return transfer_out(posted.transfer, posted.entries, replayed=posted.replayed)


async def transfers_out(transfers: list[Transfer]) -> list[TransferOut]:
    entries = await repository.posted_entries_many([t.id for t in transfers])
    return [transfer_out(t, entries[t.id]) for t in transfers]


async def accounts_out(accounts: list[Account]) -> list[AccountOut]:
    people = await repository.users_by_id([a.owner_id for a in accounts if a.owner_kind in PERSONAL])
    out = []
    for a in accounts:
        person = people.get(a.owner_id) if a.owner_kind in PERSONAL else None
        name = a.name
        if person is not None:
            name = person.name if a.owner_kind == OwnerKind.USER else f"{person.name}（冻结）"
        out.append(AccountOut(
            id=a.id, owner_kind=OwnerKind(a.owner_kind), owner_id=a.owner_id, owner_name=name,
            currency=Currency(a.currency), balance=a.balance, min_balance=a.min_balance, earned=a.earned,
            community_id=a.community_id,
        ))
    return out


async def my_ledger(user_id: int) -> MyLedger:
    """A person's hours and points, stars and this year's gifts (accounts not opened yet read as zero)."""
    accounts = await repository.accounts_of_user(user_id)
    rules = await community_rules.for_community(await repository.home_community_id(user_id))

    def summary(currency: Currency) -> Summary:
        a = accounts.get(currency)
        floor = a.min_balance if a is not None and a.min_balance is not None else -rules.credit_limit(currency)
        return Summary(currency=currency, account_id=a.id if a else None, balance=a.balance if a else 0,
                       min_balance=floor)

    hours = accounts.get(Currency.HOUR)
    earned = hours.earned if hours else 0
    stars = rules.stars_for(earned)
    return MyLedger(
        hours=summary(Currency.HOUR), points=summary(Currency.POINT), earned_minutes=earned, stars=stars,
        next_star_hours=rules.star_thresholds_hours[stars] if stars < len(rules.star_thresholds_hours) else None,
        gift_cap_minutes=rules.gift_yearly_cap_minutes, gift_used_minutes=await service.gift_used(user_id),
        show_on_leaderboard=hours.show_on_leaderboard if hours else True,
    )


async def set_leaderboard_preference(user_id: int, show: bool) -> None:
    """Opt in or out of leaderboards (kept on the person's hour account, opened if needed)."""
    await open_account(user(user_id), Currency.HOUR)
    await Account.filter(owner_kind=OwnerKind.USER, owner_id=user_id, currency=Currency.HOUR).update(
        show_on_leaderboard=show
    )


def _line(entry: Entry) -> StatementLine:
    kind = TransferKind(entry.transfer.kind)
    return StatementLine(
        entry_id=entry.id, transfer_id=entry.transfer_id, kind=kind, kind_label=kind.label,
        reason=entry.transfer.reason, link_type=entry.transfer.link_type, link_id=entry.transfer.link_id,
        amount=entry.amount, balance_after=entry.balance_after, created_at=entry.created_at,
    )


async def statement_page(account_id: int | None, *, before_id: int | None, limit: int) -> Page[StatementLine]:
    """Newest first; each line carries the balance after it."""
    if account_id is None:
        return Page(items=[])
    rows = await repository.statement(account_id, before_id=before_id, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[_line(e) for e in rows], next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


async def monthly(account_id: int | None, currency: Currency, month: str) -> MonthlyStatement:
    start, end = month_range(month)
    if account_id is None:
        return MonthlyStatement(account_id=None, currency=currency, month=month, opening_balance=0,
                                closing_balance=0, credits=0, debits=0, by_kind=[])
    opening = await repository.balance_before(account_id, start)
    closing = await repository.balance_before(account_id, end)
    totals = await repository.totals_by_kind(account_id, start, end)
    by_kind = [KindTotal(kind=TransferKind(t["kind"]), kind_label=TransferKind(t["kind"]).label,
                         credits=t["credits"], debits=t["debits"], count=t["count"]) for t in totals]
    return MonthlyStatement(
        account_id=account_id, currency=currency, month=month, opening_balance=opening, closing_balance=closing,
        credits=sum(k.credits for k in by_kind), debits=sum(k.debits for k in by_kind), by_kind=by_kind,
    )


def _period_range(period: Period, now: datetime) -> tuple[datetime, datetime]:
    local = to_local(now)
    if period is Period.MONTH:
        return month_range(local.strftime("%Y-%m"))
    start = datetime(local.year, 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), datetime(local.year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


async def leaderboard(unit: OrgUnit, *, period: Period, limit: int) -> Leaderboard:
    """Volunteers of a community or grid by hours earned (all time, this year or this month); people who opted
    out are not shown."""
    shown = repository.hour_accounts_in(unit_scope(unit)).filter(show_on_leaderboard=True)
    if period is Period.ALL:
        accounts = await shown.filter(earned__gt=0).order_by("-earned", "id").limit(limit)
        ranked = [(a, a.earned) for a in accounts]
    else:
        start, end = _period_range(period, utcnow())
        rows = [r for r in await repository.earned_between(shown, start, end, limit) if (r["total"] or 0) > 0]
        by_id = {a.id: a for a in await Account.filter(id__in=[r["account_id"] for r in rows])}
        ranked = [(by_id[r["account_id"]], int(r["total"])) for r in rows]
    names = await repository.users_by_id([a.owner_id for a, _ in ranked])
    rules = await community_rules.for_community(unit.community_id)
    return Leaderboard(unit_id=unit.id, unit_name=unit.name, period=period.value, rows=[
        LeaderboardRow(rank=i + 1, user_id=a.owner_id, name=names[a.owner_id].name if a.owner_id in names else "",
                       minutes=minutes, stars=rules.stars_for(a.earned))
        for i, (a, minutes) in enumerate(ranked)
    ])
