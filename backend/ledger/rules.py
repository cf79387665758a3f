"""Each community's rules as data: what a task earns, the hours → points rate, monthly allowances, the yearly cap
on gifts to family, optional expiry, credit limits, the award threshold that needs a second approver, and the
奉献嘉评 star levels. A community without a ``Rules`` row uses ``DEFAULTS``. The functions here are pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum

from backend.core.timeutil import utcnow
from backend.models.ledger import Currency
from backend.models.ledger import Rules as RulesRow
from backend.models.org import Household

ALLOWANCE_FLAGS = ("is_elderly", "is_living_alone", "is_disabled", "is_low_income", "is_hardship")


class TaskKind(StrEnum):
    DELIVERY = "delivery"  # 服务快递站: deliver 爱心超市 goods
    HELP = "help"  # 代购, 送餐, 陪诊 and other help


@dataclass(frozen=True)
class CommunityRules:
    delivery_base_minutes: int = 30
    delivery_minutes_per_km: int = 10
    help_base_minutes: int = 60
    help_minutes_per_km: int = 0
    max_minutes_per_task: int = 480
    points_per_hour: int = 10  # 0: hours earn no points
    allowance_points: dict[str, int] = field(default_factory=dict)  # empty: no monthly allowance
    allowance_max_points: int = 100
    gift_yearly_cap_minutes: int = 100 * 60
    expiry_years: int | None = None  # None: hours never expire
    credit_limit_minutes: int = 0
    credit_limit_points: int = 0
    award_threshold_minutes: int = 10 * 60
    award_threshold_points: int = 200
    star_thresholds_hours: list[int] = field(default_factory=lambda: [20, 50, 100, 300, 600])

    def task_minutes(self, kind: TaskKind, distance_m: int | None = None) -> int:
        """Minutes a completed task earns: base + per started kilometre, capped."""
        base, per_km = (
            (self.delivery_base_minutes, self.delivery_minutes_per_km)
            if kind is TaskKind.DELIVERY
            else (self.help_base_minutes, self.help_minutes_per_km)
        )
        km = -(-max(distance_m or 0, 0) // 1000)  # started kilometres
        return max(1, min(base + per_km * km, self.max_minutes_per_task))

    def points_for(self, minutes: int) -> int:
        """Points that come with earned minutes (whole points, rounded down)."""
        return minutes * self.points_per_hour // 60

    def allowance_for(self, household: Household) -> int:
        """Monthly points for a household: the sum over its flags, capped (0 when none applies)."""
        total = sum(points for flag, points in self.allowance_points.items() if getattr(household, flag, False))
        return min(total, self.allowance_max_points)

    def stars_for(self, earned_minutes: int) -> int:
        """奉献嘉评 stars for lifetime hours."""
        return sum(1 for hours in self.star_thresholds_hours if earned_minutes >= hours * 60)

    def credit_limit(self, currency: Currency) -> int:
        return self.credit_limit_minutes if currency is Currency.HOUR else self.credit_limit_points

    def award_threshold(self, currency: Currency) -> int:
        return self.award_threshold_minutes if currency is Currency.HOUR else self.award_threshold_points


DEFAULTS = CommunityRules()
_COLUMNS = tuple(f.name for f in fields(CommunityRules))


def from_row(row: RulesRow | None) -> CommunityRules:
    if row is None:
        return DEFAULTS
    return CommunityRules(**{name: getattr(row, name) for name in _COLUMNS})


async def for_community(community_id: int | None) -> CommunityRules:
    """The rules of a community (the defaults when it has none, or when there is no community)."""
    if community_id is None:
        return DEFAULTS
    return from_row(await RulesRow.get_or_none(unit_id=community_id))


async def save(community_id: int, rules: CommunityRules, *, actor_id: int | None) -> CommunityRules:
    values = {**asdict(rules), "updated_by_id": actor_id, "updated_at": utcnow()}
    updated = await RulesRow.filter(unit_id=community_id).update(**values)
    if not updated:
        await RulesRow.create(unit_id=community_id, **values)
    return rules
