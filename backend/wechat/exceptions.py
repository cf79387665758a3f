"""WeChat errcodes as our errors: each documented code gets a clear 4xx, the rest a 502."""

from __future__ import annotations

from backend.core.errors import AppError, BadRequest, Forbidden, TooManyRequests, UpstreamError


class WechatError(Exception):
    """A non-zero errcode from WeChat (or a transport failure, errcode ``None``)."""

    def __init__(self, errcode: int | None, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"wechat errcode={errcode} errmsg={errmsg}")


class WatermarkMismatch(WechatError):
    """The phone number came with another mini-program's watermark: not ours to trust."""


class WechatNotConfigured(AppError):
    status_code = 501
    message = "本服务尚未配置微信小程序登录，请使用手机号密码登录（开发环境可用演示账号）"


class WechatCodeInvalid(BadRequest):
    message = "微信登录凭证无效或已使用，请重新打开小程序再试"


class WechatRateLimited(TooManyRequests):
    message = "微信登录过于频繁，请稍后再试"


class WechatRiskyUser(Forbidden):
    message = "该微信账号存在安全风险，暂时无法登录，请联系社区工作人员"


class WechatBusy(UpstreamError):
    status_code = 503
    message = "微信服务繁忙，请稍后再试"


class WechatFailed(UpstreamError):
    message = "微信服务返回错误，请稍后再试"


class PhoneCodeInvalid(BadRequest):
    message = "手机号授权已失效，请重新点击授权"


class PhoneNotVerified(BadRequest):
    message = "手机号校验未通过，请重新授权"


def to_app_error(exc: WechatError) -> Exception:
    """Translate a WeChat errcode into the error the client sees."""
    if isinstance(exc, WatermarkMismatch):
        return PhoneNotVerified(detail={"reason": "watermark"})
    match exc.errcode:
        case 40029 | 40163:  # invalid code / code been used
            return WechatCodeInvalid(detail={"errcode": exc.errcode})
        case 45011:  # API minute-quota reached
            return WechatRateLimited(detail={"errcode": exc.errcode})
        case 40226:  # high-risk user
            return WechatRiskyUser(detail={"errcode": exc.errcode})
        case -1 | None:  # system busy / unreachable, after our retries
            return WechatBusy(detail={"errcode": exc.errcode})
        case _:
            return WechatFailed(detail={"errcode": exc.errcode})
