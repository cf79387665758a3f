"""Loaders for the ledger routes: the object if it lies in the caller's scope, else 404 (never 403, so that
what exists outside one's scope is not revealed). Reading needs a staff role from grid worker up; writing (awards,
earnings, reversals, rules, stores) needs community staff or above."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CommunityStaff, CurrentUser, Staff
from backend.auth.principal import Principal
from backend.core.errors import NotFound
from backend.ledger import repository, service
from backend.ledger.exceptions import AccountNotFound, NotACommunity, PendingAwardNotFound, TransferNotFound
from backend.models.ledger import Account, PendingAward, Transfer
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role, User
from backend.org.scope import Scope, scope_of
from backend.users import repository as users_repository

Id = Annotated[int, Path(gt=0, le=2**62)]


def readers(principal: Principal) -> Scope:
    return scope_of(principal, service.LEDGER_READERS)


def writers(principal: Principal) -> Scope:
    return scope_of(principal, service.LEDGER_WRITERS)


async def account_readable(principal: Staff, account_id: Id) -> Account:
    account = await repository.account(readers(principal), account_id)
    if account is None:
        raise AccountNotFound()
    return account


async def transfer_readable(principal: Staff, transfer_id: Id) -> Transfer:
    transfer = await repository.transfer(readers(principal), transfer_id)
    if transfer is None:
        raise TransferNotFound()
    return transfer


async def transfer_writable(principal: CommunityStaff, transfer_id: Id) -> Transfer:
    transfer = await repository.transfer(writers(principal), transfer_id)
    if transfer is None:
        raise TransferNotFound()
    return transfer


async def award_writable(principal: CommunityStaff, award_id: Id) -> PendingAward:
    award = await repository.pending_award(writers(principal), award_id)
    if award is None:
        raise PendingAwardNotFound()
    return award


async def person_readable(principal: Staff, user_id: Id) -> User:
    person = await users_repository.user(readers(principal), user_id)
    if person is None:
        raise NotFound("找不到该人员")
    return person


async def person_writable(principal: Principal, user_id: int) -> User:
    """A person the caller may credit (checked on ids that come in a request body)."""
    person = await users_repository.user(writers(principal), user_id)
    if person is None or not person.is_active:
        raise NotFound("找不到该人员", detail={"loc": "body.user_id"})
    return person


async def community_writable(principal: Principal, community_id: int | None, *, person_id: int) -> OrgUnit:
    """The community to post in (given, or the person's own), which must lie in the caller's writing scope."""
    try:
        community = await service.community_of(community_id, person_id=person_id)
    except NotACommunity as exc:
        raise NotFound("找不到该社区", detail={"loc": "body.community_id"}) from exc
    if not writers(principal).covers(community):
        raise NotFound("找不到该社区", detail={"loc": "body.community_id"})
    return community


async def _community(scope: Scope, unit_id: int) -> OrgUnit:
    unit = await OrgUnit.get_or_none(id=unit_id)
    if unit is None or not scope.covers(unit):
        raise NotFound("找不到该社区")
    if unit.level != OrgLevel.COMMUNITY:
        raise NotACommunity(detail={"unit_id": unit_id})
    return unit


async def rules_readable(principal: Staff, unit_id: Id) -> OrgUnit:
    """Any staff member working in or above the community may read its rules (a grid worker included)."""
    unit = await OrgUnit.get_or_none(id=unit_id)
    inside = unit is not None and any(
        g.org_unit is not None and g.org_unit.community_id == unit.id for g in principal.grants
    )
    return unit if inside and unit.level == OrgLevel.COMMUNITY else await _community(readers(principal), unit_id)


async def rules_writable(principal: CommunityStaff, unit_id: Id) -> OrgUnit:
    return await _community(writers(principal), unit_id)


async def board_unit(principal: CurrentUser, unit_id: Id) -> OrgUnit:
    """A community or grid the caller belongs to or looks after (any role)."""
    unit = await OrgUnit.get_or_none(id=unit_id)
    if unit is None or not scope_of(principal, tuple(Role)).covers(unit):
        raise NotFound("找不到该单位")
    if unit.level not in (OrgLevel.COMMUNITY, OrgLevel.GRID):
        raise NotFound("排行榜只按社区或网格提供")
    return unit


ReadableAccount = Annotated[Account, Depends(account_readable)]
ReadableTransfer = Annotated[Transfer, Depends(transfer_readable)]
WritableTransfer = Annotated[Transfer, Depends(transfer_writable)]
WritableAward = Annotated[PendingAward, Depends(award_writable)]
ReadablePerson = Annotated[User, Depends(person_readable)]
RulesCommunity = Annotated[OrgUnit, Depends(rules_readable)]
EditableRulesCommunity = Annotated[OrgUnit, Depends(rules_writable)]
BoardUnit = Annotated[OrgUnit, Depends(board_unit)]
