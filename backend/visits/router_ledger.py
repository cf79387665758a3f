"""/api/v1/visits/households/{id}: the resident ledger (住户台账) visitors keep, its members and its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.core.deps import SettingsDep
from backend.core.errors import Forbidden, ValidationFailed, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor
from backend.visits import residents
from backend.visits.dependencies import Member, ReachableHousehold, Visitor
from backend.visits.exceptions import HouseholdNotFound, LedgerChanged, MemberNotFound
from backend.visits.ledger_schemas import ChangeOut, LedgerOut, MemberIn, MemberOut, MemberPatch, ProfileIn

router = APIRouter()
Reveal = Annotated[bool, Query(description="查看身份证号、电话、健康和残疾状况（仅网格员及以上，会记录查看日志）")]
P = "/households/{household_id}"


@router.get(P + "/ledger", response_model=LedgerOut, responses=responses(HouseholdNotFound, Forbidden))
async def get_ledger(household: ReachableHousehold, principal: Visitor, settings: SettingsDep,
                     reveal: Reveal = False):
    """住户台账：实际居住人数、联系人、特殊情况和家庭成员；敏感信息默认脱敏。"""
    if reveal:
        await residents.reveal(principal, household, "ledger")
    return await residents.ledger(settings, household, revealed=reveal)


@router.patch(P + "/ledger", response_model=LedgerOut, responses=responses(HouseholdNotFound, LedgerChanged))
async def update_ledger(body: ProfileIn, household: ReachableHousehold, principal: Visitor,
                        settings: SettingsDep):
    """更新住户台账（只改提交的字段，null 表示清空）；每项变化记入变更历史。"""
    await residents.update_profile(settings, principal, household, body)
    return await residents.ledger(settings, household, revealed=False)


@router.get(P + "/ledger/history", response_model=Page[ChangeOut], responses=responses(HouseholdNotFound, Forbidden))
async def ledger_history(household: ReachableHousehold, principal: Visitor, settings: SettingsDep,
                         cursor: CursorParam = None, limit: LimitParam = 50, reveal: Reveal = False):
    """住户台账的变更历史（谁、何时、从什么改成什么）。"""
    if reveal:
        await residents.reveal(principal, household, "history")
    return await residents.history(settings, household, revealed=reveal, before_id=decode_cursor(cursor),
                                   limit=limit)


@router.post(P + "/members", response_model=MemberOut, status_code=201, responses=responses(HouseholdNotFound))
async def add_member(body: MemberIn, household: ReachableHousehold, principal: Visitor,
                     settings: SettingsDep):
    """登记一位家庭成员。"""
    member = await residents.add_member(settings, principal, household, body)
    return residents.member_out(settings, member, False)


@router.patch(P + "/members/{member_id}", response_model=MemberOut,
              responses=responses(HouseholdNotFound, MemberNotFound, LedgerChanged, ValidationFailed))
async def update_member(body: MemberPatch, member: Member, principal: Visitor, settings: SettingsDep):
    member = await residents.update_member(settings, principal, member, body)
    return residents.member_out(settings, member, False)


@router.delete(P + "/members/{member_id}", status_code=204, response_class=Response,
               responses=responses(HouseholdNotFound, MemberNotFound, LedgerChanged))
async def remove_member(member: Member, principal: Visitor, settings: SettingsDep) -> Response:
    """成员迁出（保留记录和历史）。"""
    await residents.remove_member(settings, principal, member)
    return Response(status_code=204)
