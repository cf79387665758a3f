"""Errors of the volunteers domain, on the one error tree (``backend.core.errors``)::

BadRequest (400)
└── PhoneNotVerified          a volunteer registers with a verified phone
ValidationFailed (422)
├── InvalidIdNumber           not an 18-digit resident ID number with a valid check digit
└── TooFarToCheckIn           the check-in/out position is outside the activity's geofence
NotFound (404)
├── VolunteerNotFound
├── TeamNotFound
├── PairingNotFound
└── ActivityNotFound
Conflict (409)
├── AlreadyRegistered         one profile per person, and per ID number
├── NotAnActiveVolunteer      the caller has no active volunteer profile
├── ActivityFull              capacity reached (settled by a conditional UPDATE)
├── AlreadyPaired             a resident has one active pairing
└── InvalidTransition
    ├── ProfileNotPending / SignupNotOpen / NotCheckedIn
    └── ActivityCancelled
"""

from __future__ import annotations

from backend.core.errors import BadRequest, Conflict, InvalidTransition, NotFound, ValidationFailed


class PhoneNotVerified(BadRequest):
    message = "请先绑定并验证手机号，再进行志愿者实名登记"


class InvalidIdNumber(ValidationFailed):
    message = "身份证号码格式不正确"


class TooFarToCheckIn(ValidationFailed):
    message = "您当前的位置不在活动地点附近，无法签到或签退"


class VolunteerNotFound(NotFound):
    message = "找不到该志愿者"


class TeamNotFound(NotFound):
    message = "找不到该志愿服务队"


class PairingNotFound(NotFound):
    message = "找不到该帮扶对子"


class ActivityNotFound(NotFound):
    message = "找不到该志愿活动"


class AlreadyRegistered(Conflict):
    message = "已经登记过志愿者（同一人、同一身份证号只能登记一次）"


class NotAnActiveVolunteer(Conflict):
    message = "您还不是在册志愿者（登记后需社区审核通过）"


class ActivityFull(Conflict):
    message = "活动名额已满"


class AlreadyPaired(Conflict):
    message = "该居民已有帮扶对子，请先结束原有结对"


class AlreadyMember(Conflict):
    message = "该志愿者已在队中"


class ProfileNotPending(InvalidTransition):
    message = "该登记不在待审核状态"


class SignupNotOpen(InvalidTransition):
    message = "当前报名状态下不能进行此操作"


class NotCheckedIn(InvalidTransition):
    message = "请先签到"


class ActivityCancelled(InvalidTransition):
    message = "活动已取消"
