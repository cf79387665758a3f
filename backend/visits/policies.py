"""Load and save a community's visit policy (``policy.py`` holds what a policy means)."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core import audit
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.org import OrgUnit
from backend.models.visits import VisitPolicy
from backend.visits import repository
from backend.visits.exceptions import PolicyChanged
from backend.visits.policy import DEFAULT_RULES, Policy, rules_from
from backend.visits.schemas import PolicyIn, PolicyOut, RuleOut


def _of(row: VisitPolicy | None, default_fence: int) -> Policy:
    if row is None:
        return Policy(rules=DEFAULT_RULES, fence_m=default_fence, version=0)
    return Policy(rules=rules_from(row.rules), fence_m=row.fence_m, version=row.version)


async def policy_for(community_id: int | None, settings: Settings) -> Policy:
    row = await repository.policy_row(community_id) if community_id else None
    return _of(row, settings.visits_fence_m)


async def policies_for(community_ids: Iterable[int | None], default_fence: int) -> dict[int | None, Policy]:
    wanted = set(community_ids)
    rows = await repository.policy_rows(i for i in wanted if i)
    return {cid: _of(rows.get(cid) if cid else None, default_fence) for cid in wanted}


def policy_out(community_id: int, policy: Policy) -> PolicyOut:
    return PolicyOut(
        community_id=community_id, fence_m=policy.fence_m, version=policy.version, is_default=policy.version == 0,
        rules=[RuleOut(name=r.name, flags=list(r.flags), per=r.per, times=r.times, cadence=r.cadence)
               for r in policy.rules],
    )


async def save(principal: Principal, community: OrgUnit, body: PolicyIn) -> Policy:
    """Replace the community's policy (optimistic: ``version`` must match when given), audited."""
    rules = [r.model_dump() for r in body.rules]
    async with atomic():
        current = await repository.policy_row(community.id)
        if body.version is not None and body.version != (current.version if current else 0):
            raise PolicyChanged(detail={"version": current.version if current else 0})
        if current is None:
            try:
                async with atomic():
                    current = await VisitPolicy.create(unit_id=community.id, rules=rules, fence_m=body.fence_m,
                                                       updated_by_id=principal.id)
            except IntegrityError as exc:
                raise PolicyChanged() from exc
        else:
            changed = await VisitPolicy.filter(id=current.id, version=current.version).update(
                rules=rules, fence_m=body.fence_m, version=current.version + 1, updated_by_id=principal.id,
                updated_at=utcnow())
            if not changed:
                raise PolicyChanged()
            current = await VisitPolicy.get(id=current.id)
        await audit.record("visits:policy", actor_id=principal.id, object_type="org_unit", object_id=community.id,
                           detail={"rules": rules, "fence_m": body.fence_m, "version": current.version})
    return _of(current, body.fence_m)
