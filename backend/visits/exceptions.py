"""Errors of the visits domain (subclasses of the one tree in backend/core/errors.py).

    NotFound     → HouseholdNotFound, VisitNotFound, ProblemNotFound, MemberNotFound, MonthNotFound,
                   UnitNotFound, VisitorNotFound
    BadRequest   → NotAVisitor, WrongUnitLevel, FutureMonth, BadPolicy (422)
    Conflict     → AssignmentChanged, ClientIdTaken, VisitConflict, MonthLocked, ProblemAlreadyReported,
                   ProblemAlreadySolved, LedgerChanged, PolicyChanged, NothingToSubmit, InvalidTransition (core)
"""

from __future__ import annotations

from backend.core.errors import BadRequest, Conflict, NotFound, ValidationFailed


class HouseholdNotFound(NotFound):
    message = "找不到该住户，或不在您的走访范围内"


class VisitNotFound(NotFound):
    message = "找不到该走访记录"


class ProblemNotFound(NotFound):
    message = "找不到该问题"


class MemberNotFound(NotFound):
    message = "找不到该家庭成员"


class MonthNotFound(NotFound):
    message = "找不到该走访台账"


class UnitNotFound(NotFound):
    message = "找不到该单位，或不在您的管辖范围内"


class VisitorNotFound(NotFound):
    message = "找不到该走访人员"


class NotAVisitor(BadRequest):
    status_code = 422
    message = "该人员不是本社区的党员、网格员或网格长，不能分配联系户"


class WrongUnitLevel(BadRequest):
    status_code = 422
    message = "只能按网格、社区或街道统计"


class FutureMonth(BadRequest):
    status_code = 422
    message = "不能提交尚未开始的月份"


class BadPolicy(ValidationFailed):
    message = "走访规则不符合要求"


class AssignmentChanged(Conflict):
    message = "联系户分配刚被其他人修改，请刷新后重试"


class ClientIdTaken(Conflict):
    message = "该走访编号已被使用"


class VisitConflict(Conflict):
    message = "这条走访记录在服务器上已有不同的内容，未覆盖，请核对"


class MonthLocked(Conflict):
    message = "该月走访台账已提交或已通过，不能再修改其中的走访记录"


class ProblemAlreadyReported(Conflict):
    message = "该问题已经上报过了"


class ProblemAlreadySolved(Conflict):
    message = "该问题已经解决"


class LedgerChanged(Conflict):
    message = "住户台账刚被其他人修改，请刷新后再改"


class PolicyChanged(Conflict):
    message = "走访规则刚被其他人修改，请刷新后再改"


class NothingToSubmit(Conflict):
    message = "该月没有分配给您的联系户，无需提交台账"
