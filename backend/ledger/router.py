"""/api/v1/ledger: a person's own hours and points (``/me``…), and staff views and postings within their scope.

Posting routes take an ``idempotency_key`` in the body: the same key posts once (201 the first time, 200 with
``replayed: true`` after). The ``Idempotency-Key`` header works on top, as on every POST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from backend.auth.dependencies import CommunityStaff, CurrentUser, Staff
from backend.core.errors import BadRequest, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from backend.ledger import export, repository, service, statements
from backend.ledger import rules as community_rules
from backend.ledger.dependencies import (
    BoardUnit,
    EditableRulesCommunity,
    ReadableAccount,
    ReadablePerson,
    ReadableTransfer,
    RulesCommunity,
    WritableAward,
    WritableTransfer,
    community_writable,
    person_writable,
    readers,
)
from backend.ledger.exceptions import (
    AccountNotFound,
    AlreadyReversed,
    AwardNotPending,
    CannotReverse,
    GiftCapExceeded,
    IdempotencyKeyConflict,
    InsufficientBalance,
    NoCommunity,
    NotACommunity,
    PendingAwardNotFound,
    RecipientNotFound,
    SameApprover,
    StoreNotFound,
    TransferNotFound,
)
from backend.ledger.schemas import (
    MONTH_PATTERN,
    AccountOut,
    AwardIn,
    AwardResult,
    DecisionIn,
    EarningIn,
    EarningKind,
    GiftIn,
    Leaderboard,
    MonthlyStatement,
    MyLedger,
    PendingAwardOut,
    Period,
    PreferencesIn,
    RedemptionIn,
    RedemptionPreviewOut,
    ReversalIn,
    RulesIn,
    RulesOut,
    StatementLine,
    StoreIn,
    TransferOut,
)
from backend.ledger.types import Posted, user
from backend.models.ledger import AwardStatus, Currency, OwnerKind, TransferKind

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
XLSX = {200: {"content": {export.MEDIA_TYPE: {}}, "description": "Excel 文件"}}
EXPORT_MAX_ROWS = 100_000
CurrencyParam = Annotated[Currency, Query(description="hour 服务时长（分钟）/ point 爱心积分")]


def _posted(posted: Posted, response: Response) -> TransferOut:
    if posted.replayed:
        response.status_code = 200
    return statements.posted_out(posted)


def _key(principal_id: int, key: str) -> str:
    return f"u{principal_id}:{key}"  # clients' keys are namespaced per caller


async def _xlsx(account, *, title: str, month: str | None) -> Response:  # type: ignore[no-untyped-def]
    if account is None:
        raise AccountNotFound("还没有该账户的记录")
    if await export.count_rows(account, month) > EXPORT_MAX_ROWS:
        raise BadRequest(f"记录超过 {EXPORT_MAX_ROWS} 条，请按月份导出", detail={"loc": "query.month"})
    body = await export.statement_bytes(account, title=title, month=month)
    name = f"ledger-{account.id}-{month or 'all'}.xlsx"
    return Response(body, media_type=export.MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------------------------------------------- /me


@router.get("/me", response_model=MyLedger)
async def get_my_ledger(principal: CurrentUser):
    """我的时间银行和爱心积分：余额、累计服务时长、星级、本年度已转赠。"""
    return await statements.my_ledger(principal.id)


@router.get("/me/statement", response_model=Page[StatementLine])
async def get_my_statement(principal: CurrentUser, currency: CurrencyParam, cursor: CursorParam = None,
                           limit: LimitParam = 50):
    """我的明细（最新在前，每行带记账后的余额）。"""
    account = await repository.account_of(user(principal.id), currency)
    return await statements.statement_page(account.id if account else None, before_id=decode_cursor(cursor),
                                           limit=limit)


@router.get("/me/statements/{month}", response_model=MonthlyStatement)
async def get_my_monthly_statement(principal: CurrentUser, month: Annotated[str, Path(pattern=MONTH_PATTERN)],
                                   currency: CurrencyParam):
    """我的月度对账单：期初、期末、按类型的收入和支出。"""
    account = await repository.account_of(user(principal.id), currency)
    return await statements.monthly(account.id if account else None, currency, month)


@router.get("/me/export.xlsx", response_class=Response, responses={**XLSX, **responses(AccountNotFound, BadRequest)})
async def export_my_statement(principal: CurrentUser, currency: CurrencyParam,
                              month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None):
    """导出我的明细（Excel）。"""
    account = await repository.account_of(user(principal.id), currency)
    return await _xlsx(account, title=f"{principal.user.name} {currency.label}明细", month=month)


@router.post("/me/gifts", response_model=TransferOut, status_code=201,
             responses=responses(RecipientNotFound, InsufficientBalance, GiftCapExceeded, IdempotencyKeyConflict,
                                 BadRequest))
async def gift_to_family(body: GiftIn, principal: CurrentUser, response: Response):
    """把时长转赠给家人（如存给父母），每年有上限。"""
    recipient = await repository.active_user_by_phone(body.to_phone)
    if recipient is None:
        raise RecipientNotFound(detail={"loc": "body.to_phone"})
    return _posted(await service.gift_hours(
        principal.id, recipient.id, body.minutes, relation=body.relation, actor_id=principal.id,
        idempotency_key=_key(principal.id, body.idempotency_key),
    ), response)


@router.get("/me/redemptions/preview", response_model=RedemptionPreviewOut, responses=responses(StoreNotFound))
async def preview_my_redemption(principal: CurrentUser, store_id: Annotated[int, Query(gt=0, le=2**62)],
                                points: Annotated[int, Query(ge=1, le=1_000_000)]):
    """兑换前预览：兑换后余额、是否足够。"""
    preview = await service.preview_redemption(principal.id, store_id=store_id, points=points)
    return RedemptionPreviewOut(**preview.__dict__)


@router.post("/me/redemptions", response_model=TransferOut, status_code=201,
             responses=responses(StoreNotFound, InsufficientBalance, IdempotencyKeyConflict))
async def redeem_points(body: RedemptionIn, principal: CurrentUser, response: Response):
    """在爱心超市用积分兑换。"""
    return _posted(await service.redeem(
        principal.id, store_id=body.store_id, points=body.points, actor_id=principal.id, note=body.note,
        idempotency_key=_key(principal.id, body.idempotency_key),
    ), response)


@router.put("/me/preferences", response_model=MyLedger)
async def set_my_preferences(body: PreferencesIn, principal: CurrentUser):
    """是否在志愿者排行榜上显示我。"""
    await statements.set_leaderboard_preference(principal.id, body.show_on_leaderboard)
    return await statements.my_ledger(principal.id)


# ------------------------------------------------------------------------------------------ staff: reading


@router.get("/accounts", response_model=Page[AccountOut])
async def list_accounts(principal: Staff, owner_kind: OwnerKind | None = None, currency: Currency | None = None,
                        cursor: CursorParam = None, limit: LimitParam = 20):
    """您管辖范围内的账户（人员的，以及社区发行、爱心超市、冻结账户）。"""
    rows = await repository.accounts(readers(principal), owner_kind=owner_kind, currency=currency,
                                     before_id=decode_cursor(cursor), limit=limit)
    more, rows = len(rows) > limit, rows[:limit]
    return Page(items=await statements.accounts_out(rows),
                next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@router.get("/accounts/{account_id}", response_model=AccountOut, responses=responses(AccountNotFound))
async def get_account(account: ReadableAccount):
    return (await statements.accounts_out([account]))[0]


@router.get("/accounts/{account_id}/statement", response_model=Page[StatementLine],
            responses=responses(AccountNotFound))
async def get_account_statement(account: ReadableAccount, cursor: CursorParam = None, limit: LimitParam = 50):
    return await statements.statement_page(account.id, before_id=decode_cursor(cursor), limit=limit)


@router.get("/accounts/{account_id}/statements/{month}", response_model=MonthlyStatement,
            responses=responses(AccountNotFound))
async def get_account_monthly_statement(account: ReadableAccount,
                                        month: Annotated[str, Path(pattern=MONTH_PATTERN)]):
    return await statements.monthly(account.id, Currency(account.currency), month)


@router.get("/accounts/{account_id}/export.xlsx", response_class=Response,
            responses={**XLSX, **responses(AccountNotFound, BadRequest)})
async def export_account_statement(account: ReadableAccount,
                                   month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None):
    """导出账户明细（Excel）。"""
    out = (await statements.accounts_out([account]))[0]
    return await _xlsx(account, title=f"{out.owner_name or ''} {Currency(account.currency).label}明细", month=month)


@router.get("/people/{user_id}", response_model=MyLedger, responses=responses(NotFound))
async def get_person_ledger(person: ReadablePerson):
    """代居民查询：某人的时长和积分（例如老人打电话来问）。"""
    return await statements.my_ledger(person.id)


@router.get("/transfers", response_model=Page[TransferOut])
async def list_transfers(principal: Staff, kind: TransferKind | None = None, cursor: CursorParam = None,
                         limit: LimitParam = 20):
    rows = await repository.transfers(readers(principal), kind=kind, before_id=decode_cursor(cursor), limit=limit)
    more, rows = len(rows) > limit, rows[:limit]
    return Page(items=await statements.transfers_out(rows),
                next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@router.get("/transfers/{transfer_id}", response_model=TransferOut, responses=responses(TransferNotFound))
async def get_transfer(transfer: ReadableTransfer):
    return (await statements.transfers_out([transfer]))[0]


# ------------------------------------------------------------------------------------------ staff: writing


@router.post("/transfers/{transfer_id}/reversal", response_model=TransferOut, status_code=201,
             responses=responses(TransferNotFound, AlreadyReversed, CannotReverse, InsufficientBalance))
async def reverse_transfer(transfer: WritableTransfer, body: ReversalIn, principal: CommunityStaff):
    """冲正一笔记账（每笔只能冲正一次，会留下审计记录）。"""
    return statements.posted_out(await service.reverse(transfer, actor_id=principal.id, reason=body.reason))


@router.post("/earnings", response_model=TransferOut, status_code=201,
             responses=responses(NotFound, NoCommunity, IdempotencyKeyConflict))
async def record_earning(body: EarningIn, principal: CommunityStaff, response: Response):
    """登记志愿服务或活动时长（同一任务、同一活动每人只计一次）。"""
    person = await person_writable(principal, body.user_id)
    community = await community_writable(principal, body.community_id, person_id=person.id)
    key = _key(principal.id, body.idempotency_key)
    if body.kind is EarningKind.SERVICE:
        posted = await service.earn_service(
            person.id, community=community, task_id=body.task_id, task_kind=body.task_kind,
            distance_m=body.distance_m, minutes=body.minutes, actor_id=principal.id, reason=body.reason,
            idempotency_key=key,
        )
    else:
        if body.minutes is None:
            raise BadRequest("参加活动需要填写时长（分钟）", detail={"loc": "body.minutes"})
        posted = await service.earn_activity(
            person.id, community=community, minutes=body.minutes, activity_id=body.activity_id,
            actor_id=principal.id, reason=body.reason, idempotency_key=key,
        )
    return _posted(posted, response)


@router.post("/awards", response_model=AwardResult, status_code=201,
             responses=responses(NotFound, NoCommunity, IdempotencyKeyConflict))
async def give_award(body: AwardIn, principal: CommunityStaff, response: Response):
    """表彰奖励时长或积分；超过社区设定的额度时需另一位工作人员审批（返回 202 和待审批记录）。"""
    person = await person_writable(principal, body.user_id)
    community = await community_writable(principal, body.community_id, person_id=person.id)
    outcome = await service.award(
        person.id, community=community, currency=body.currency, amount=body.amount, reason=body.reason,
        actor_id=principal.id, idempotency_key=_key(principal.id, body.idempotency_key),
    )
    if outcome.pending is not None:
        response.status_code = 202
        return AwardResult(status="pending", pending=PendingAwardOut.model_validate(outcome.pending, from_attributes=True))
    assert outcome.posted is not None
    return AwardResult(status="posted", transfer=_posted(outcome.posted, response))


@router.get("/awards", response_model=Page[PendingAwardOut])
async def list_awards(principal: Staff, status: AwardStatus | None = AwardStatus.PENDING, cursor: CursorParam = None,
                      limit: LimitParam = 20):
    """待审批（或已审批）的奖励。"""
    rows = await repository.pending_awards(readers(principal), status=status, before_id=decode_cursor(cursor),
                                           limit=limit)
    more, rows = len(rows) > limit, rows[:limit]
    return Page(items=[PendingAwardOut.model_validate(r, from_attributes=True) for r in rows],
                next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@router.post("/awards/{award_id}/approve", response_model=TransferOut,
             responses=responses(PendingAwardNotFound, SameApprover, AwardNotPending))
async def approve_award(award: WritableAward, body: DecisionIn, principal: CommunityStaff):
    """审批通过（审批人不能是申请人）。"""
    return statements.posted_out(await service.approve_award(award, approver_id=principal.id, note=body.note))


@router.post("/awards/{award_id}/reject", response_model=PendingAwardOut,
             responses=responses(PendingAwardNotFound, AwardNotPending))
async def reject_award(award: WritableAward, body: DecisionIn, principal: CommunityStaff):
    pending = await service.reject_award(award, actor_id=principal.id, note=body.note)
    return PendingAwardOut.model_validate(pending, from_attributes=True)


@router.post("/stores", response_model=AccountOut, status_code=201, responses=responses(NotFound))
async def open_store_account(body: StoreIn, principal: CommunityStaff):
    """为爱心超市开设积分账户（超市模块也会调用同一服务）。"""
    community = await community_writable(principal, body.community_id, person_id=principal.id)
    account = await service.open_store_account(body.store_id, community=community, name=body.name,
                                               actor_id=principal.id)
    return (await statements.accounts_out([account]))[0]


@router.get("/rules/{unit_id}", response_model=RulesOut, responses=responses(NotFound, NotACommunity))
async def get_rules(community: RulesCommunity):
    """社区的时间银行规则（未设置时为默认值）。"""
    rules = await community_rules.for_community(community.id)
    return RulesOut(community_id=community.id, **rules.__dict__)


@router.put("/rules/{unit_id}", response_model=RulesOut, responses=responses(NotFound, NotACommunity))
async def set_rules(community: EditableRulesCommunity, body: RulesIn, principal: CommunityStaff):
    """修改社区规则（会留下审计记录）。"""
    rules = await service.update_rules(community, community_rules.CommunityRules(**body.model_dump()),
                                       actor_id=principal.id)
    return RulesOut(community_id=community.id, **rules.__dict__)


@router.get("/leaderboards/{unit_id}", response_model=Leaderboard, responses=responses(NotFound))
async def get_leaderboard(unit: BoardUnit, period: Period = Period.ALL,
                          limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """社区或网格的志愿者排行榜（本人可选择不显示）。"""
    return await statements.leaderboard(unit, period=period, limit=limit)
