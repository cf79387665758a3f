"""Errors of the notifications domain (all in the one error tree of backend/core/errors.py)."""

from __future__ import annotations

from backend.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class NotificationNotFound(NotFound):
    message = "找不到该通知"


class DeliveryNotFound(NotFound):
    message = "找不到该条未送达记录"


class AlreadyResolved(Conflict):
    message = "这条未送达通知已经有人处理过了"


class UnknownTemplate(ValidationFailed):
    message = "不是本小程序的订阅消息模板"


class PresenceNotAllowed(Forbidden):
    message = "只有志愿者和部门工作人员需要设置在岗状态"


class AudienceTooLarge(ValidationFailed):
    message = "通知范围内人数太多，请缩小范围后再发"


class AudienceEmpty(ValidationFailed):
    message = "该范围内没有可以接收通知的人"
