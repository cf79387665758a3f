"""Errors of the task domain (服务快递站), on the one error tree (``backend.core.errors``)::

BadRequest (400)
├── NoLocation                the task has no place to start from (no household position, none given)
└── UnknownHelpKind           not in the community's list of help kinds
NotFound (404)
└── TaskNotFound              also: a task never offered to this volunteer
Conflict (409)
├── TaskAlreadyClaimed        another volunteer accepted first (one conditional UPDATE decides)
├── TooManyActiveTasks        the volunteer holds as many tasks as they may
└── InvalidTransition         an edge not in the task's transition table
    ├── OfferWithdrawn        the offer to this volunteer no longer stands
    └── TaskCancelled
"""

from __future__ import annotations

from backend.core.errors import BadRequest, Conflict, InvalidTransition, NotFound


class NoLocation(BadRequest):
    message = "无法确定服务地点：请授权定位，或先登记住户地址"


class UnknownHelpKind(BadRequest):
    message = "本社区没有该服务项目"


class TaskNotFound(NotFound):
    message = "找不到该任务"


class TaskAlreadyClaimed(Conflict):
    message = "手慢了，这个任务已被其他志愿者接单，感谢您的热心！"


class TooManyActiveTasks(Conflict):
    message = "您手上的任务已达上限，请先完成已接的任务"


class OfferWithdrawn(InvalidTransition):
    message = "该任务已不再派给您"


class TaskCancelled(InvalidTransition):
    message = "该任务已取消"
