"""Scheduled ledger work (run by the outbox's periodic jobs in ``tasks.py``): monthly 关爱积分 for eligible
households, and the optional expiry of unspent hours. Both are idempotent through their transfers' keys
(``allowance:<household>:<YYYY-MM>``, ``expire:<account>:<date>``), so running them twice, or on two workers
at once, pays and expires once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q
from tortoise.functions import Sum

from backend.core.db import atomic
from backend.core.timeutil import to_local, utcnow
from backend.ledger import repository
from backend.ledger import rules as community_rules
from backend.ledger.posting import post
from backend.ledger.statements import current_month
from backend.ledger.types import Leg, Place, Posted, issuer, user
from backend.models.ledger import Account, Currency, Entry, Rules, TransferKind
from backend.models.org import Household, OrgUnit
from backend.org.scope import unit_scope

log = logging.getLogger(__name__)

FLAG_LABELS = {"is_elderly": "高龄", "is_living_alone": "空巢", "is_disabled": "残疾", "is_low_income": "低保",
               "is_hardship": "困难"}


@dataclass
class AllowanceReport:
    month: str
    paid: int = 0
    points: int = 0
    already_paid: int = 0
    no_resident: int = 0


async def pay_monthly_allowances(month: str | None = None, *, batch: int = 200) -> AllowanceReport:
    """Pay each eligible household's allowance for ``month`` (default: this month) to its first resident."""
    report = AllowanceReport(month=month or current_month())
    for row in await Rules.all().order_by("unit_id"):
        rules = community_rules.from_row(row)
        flags = [flag for flag, points in rules.allowance_points.items() if points > 0]
        community = await OrgUnit.get_or_none(id=row.unit_id)
        if not flags or community is None:
            continue
        eligible = unit_scope(community).filter(Household.filter(Q(*[Q(**{f: True}) for f in flags], join_type=Q.OR)))
        after = 0
        while households := await eligible.filter(id__gt=after).order_by("id").limit(batch):
            after = households[-1].id
            await _pay_batch(report, rules, community, households)
    return report


async def _pay_batch(report: AllowanceReport, rules: community_rules.CommunityRules, community: OrgUnit,
                     households: list[Household]) -> None:
    keys = {h.id: f"allowance:{h.id}:{report.month}" for h in households}
    done = await repository.existing_keys(list(keys.values()))
    residents = await repository.primary_residents([h.id for h in households])
    for household in households:
        points = rules.allowance_for(household)
        if keys[household.id] in done:
            report.already_paid += 1
            continue
        if points <= 0:
            continue
        if household.id not in residents:
            report.no_resident += 1
            continue
        labels = "、".join(label for flag, label in FLAG_LABELS.items() if getattr(household, flag, False)
                          and rules.allowance_points.get(flag, 0) > 0)
        posted = await post(
            TransferKind.ALLOWANCE, [Leg(user(residents[household.id]), Currency.POINT, points),
                                     Leg(issuer(community.id), Currency.POINT, -points)],
            reason=f"{report.month} 关爱积分（{labels}）", place=Place.of(household),
            idempotency_key=keys[household.id], link=("household", household.id),
        )
        if posted.replayed:
            report.already_paid += 1
        else:
            report.paid += 1
            report.points += points


def _years_before(now: datetime, years: int) -> datetime:
    local = to_local(now)
    try:
        return local.replace(year=local.year - years, hour=0, minute=0, second=0, microsecond=0)
    except ValueError:  # 29 February
        return local.replace(year=local.year - years, month=2, day=28, hour=0, minute=0, second=0, microsecond=0)


async def expire_unspent(account: Account, *, cutoff: datetime, community_id: int) -> Posted | None:
    """Expire the hours credited before ``cutoff`` that are still unspent (spending uses the oldest first)."""
    async with atomic():
        # Lock the account first (a no-op write), so no spend slips in between the sums and the posting.
        await Account.filter(id=account.id).update(balance=F("balance"))
        old = await _sum(Entry.filter(account_id=account.id, amount__gt=0, created_at__lt=cutoff))
        spent = await _sum(Entry.filter(account_id=account.id, amount__lt=0))
        expirable = old + spent  # ``spent`` is negative: spending used the oldest hours first
        if expirable <= 0:
            return None
        return await post(
            TransferKind.EXPIRE, [Leg(user(account.owner_id), Currency.HOUR, -expirable),
                                  Leg(issuer(community_id), Currency.HOUR, expirable)],
            reason=f"{to_local(cutoff).date()} 之前获得、未使用的时长到期", place=Place.of(
                await OrgUnit.get(id=community_id)),
            idempotency_key=f"expire:{account.id}:{to_local(cutoff).date()}",
        )


async def expire_hours(now: datetime | None = None) -> int:
    """For communities that turned expiry on: expire their people's old unspent hours. Returns how many."""
    now = now or utcnow()
    expired = 0
    for row in await Rules.filter(expiry_years__not_isnull=True).order_by("unit_id"):
        community = await OrgUnit.get_or_none(id=row.unit_id)
        if community is None:
            continue
        cutoff = _years_before(now, row.expiry_years)
        accounts = repository.hour_accounts_in(unit_scope(community)).filter(balance__gt=0, created_at__lt=cutoff)
        after = 0
        while batch := await accounts.filter(id__gt=after).order_by("id").limit(200):
            after = batch[-1].id
            for account in batch:
                if await expire_unspent(account, cutoff=cutoff, community_id=community.id):
                    expired += 1
    return expired


async def _sum(queryset) -> int:  # type: ignore[no-untyped-def]
    rows = await queryset.annotate(s=Sum("amount")).values("s")
    return int(rows[0]["s"] or 0) if rows else 0
