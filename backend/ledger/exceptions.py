"""Errors of the ledger (时间银行 / 爱心积分), on top of the one error tree in ``backend.core.errors``::

    BadRequest (400)
    ├── UnbalancedTransfer        entries do not sum to zero per currency, or fewer than two (a caller's bug)
    └── NoCommunity               no community given and the person has none to default to
    ValidationFailed (422)
    └── NotACommunity             the unit given as a community is not one
    Forbidden (403)
    └── SameApprover              the staff member who asked for an award cannot approve it
    NotFound (404)
    ├── AccountNotFound
    ├── TransferNotFound
    ├── StoreNotFound             no 爱心超市 account with that store id
    ├── RecipientNotFound         no active person with that phone
    └── PendingAwardNotFound
    Conflict (409)
    ├── InsufficientBalance       the debit would take an account below its floor
    ├── IdempotencyKeyConflict    the key already posted a different transfer
    ├── AlreadyReversed           an original can be reversed once
    ├── GiftCapExceeded           the yearly cap of hours gifted to family
    ├── NothingReserved           no points reserved for that order
    └── InvalidTransition
        ├── CannotReverse         a reversal is not reversed again (post a new transfer instead)
        └── AwardNotPending       the award was already approved or rejected
"""

from __future__ import annotations

from backend.core.errors import BadRequest, Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed


class UnbalancedTransfer(BadRequest):
    message = "记账分录不平衡：每种币种的收支之和必须为零，且至少两条分录"


class NoCommunity(BadRequest):
    message = "请指定社区：该人员没有所属社区"


class NotACommunity(ValidationFailed):
    message = "所选单位不是社区"


class SameApprover(Forbidden):
    message = "审批人不能是申请人本人，请由另一位工作人员审批"


class AccountNotFound(NotFound):
    message = "找不到该账户"


class TransferNotFound(NotFound):
    message = "找不到该笔记账"


class StoreNotFound(NotFound):
    message = "找不到该爱心超市的账户"


class RecipientNotFound(NotFound):
    message = "找不到该手机号对应的用户"


class PendingAwardNotFound(NotFound):
    message = "找不到该待审批的奖励"


class InsufficientBalance(Conflict):
    message = "余额不足"


class IdempotencyKeyConflict(Conflict):
    message = "该请求编号已用于另一笔不同的记账"


class AlreadyReversed(Conflict):
    message = "该笔记账已经冲正过"


class GiftCapExceeded(Conflict):
    message = "超出本年度转赠家人的时长上限"


class NothingReserved(Conflict):
    message = "该订单没有冻结的积分"


class CannotReverse(InvalidTransition):
    message = "冲正记录不能再次冲正，如有需要请重新记账"


class AwardNotPending(InvalidTransition):
    message = "该奖励已审批过"
