"""Errors of the reports domain (all in the one error tree of backend/core/errors.py).

NotFound           ReportNotFound, WhistleTargetNotFound, DeliberationNotFound, BoardNotFound, VisitNotYours
Forbidden          NotHandler, NotReporter, NotCommunityStaff, NotDepartment, CannotVote
Conflict           ReportChanged (InvalidTransition: a racing change won), AlreadySupported, AlreadyRated,
                   AlreadyEvaluated, AlreadyVoted, AlreadyDecided, VotingClosed, CannotMerge, TryAgain,
                   VisitNotRecent
ValidationFailed   UnknownCategory, Unroutable, BadTarget, BadVoteOption, BadChannel
"""

from __future__ import annotations

from backend.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed


class ReportNotFound(NotFound):
    message = "找不到该上报"


class WhistleTargetNotFound(NotFound):
    message = "找不到该吹哨任务"


class DeliberationNotFound(NotFound):
    message = "找不到该议事"


class BoardNotFound(NotFound):
    message = "找不到该社区的公示"


class VisitNotYours(NotFound):
    message = "找不到该走访记录，或这不是您本人的走访"


class NotHandler(Forbidden):
    message = "该上报当前不由您办理"


class NotReporter(Forbidden):
    message = "只有上报人本人（或代为办理的工作人员）可以进行此操作"


class NotCommunityStaff(Forbidden):
    message = "只有本社区（或街道）的工作人员可以进行此操作"


class NotDepartment(Forbidden):
    message = "只有被吹哨部门的工作人员可以报到和反馈进展"


class CannotVote(Forbidden):
    message = "只有本社区的住户可以参与表决"


class ReportChanged(InvalidTransition):
    message = "该上报刚刚被其他人处理过，请刷新后再试"


class AlreadySupported(Conflict):
    message = "您已经点过“我也遇到”了"


class AlreadyRated(Conflict):
    message = "这次办理结果已经评价过了"


class AlreadyEvaluated(Conflict):
    message = "该上报已有同类评价"


class AlreadyVoted(Conflict):
    message = "您家已经投过票了（每户一票）"


class AlreadyDecided(Conflict):
    message = "该议事已经形成决定"


class VotingClosed(Conflict):
    message = "表决已经结束"


class TryAgain(Conflict):
    message = "系统繁忙，请稍后重试"


class CannotMerge(Conflict):
    message = "不能合并这两条上报"


class VisitNotRecent(Conflict):
    message = "只能为 7 天内的入户走访上报；更早发现的问题请联系网格员代为上报"


class UnknownCategory(ValidationFailed):
    message = "没有这个上报分类"


class Unroutable(ValidationFailed):
    message = "无法确定该问题所属的社区，请选择楼栋或在地图上标注位置"


class BadTarget(ValidationFailed):
    message = "所选的单位或人员不在您的管辖范围内"


class BadVoteOption(ValidationFailed):
    message = "不是可选的表决选项"


class BadChannel(ValidationFailed):
    message = "居民本人只能通过小程序上报；电话、走访等渠道由工作人员代为登记"
