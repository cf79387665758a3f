"""Errors of the auth domain."""

from __future__ import annotations

from backend.core.errors import Conflict, Forbidden, InvalidToken, Locked


class AccountLocked(Locked):
    message = "密码错误次数过多，账号已临时锁定，请稍后再试"


class AccountDisabled(Forbidden):
    message = "该账号已停用，请联系社区工作人员"


class RefreshTokenReused(InvalidToken):
    message = "登录凭证已被使用过，为安全起见已退出所有设备，请重新登录"


class PhoneBoundElsewhere(Conflict):
    message = "该手机号已绑定其他微信账号，请联系社区工作人员处理"
