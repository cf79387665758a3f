"""A small client for the WeChat endpoints Jinlin uses.

- code2Session (``/sns/jscode2session``): ``-1`` (system busy) is retried at most twice; ``session_key`` is
  returned to our service and stored server-side only.
- getStableAccessToken (``/cgi-bin/stable_token``): cached on the bus until shortly before expiry and refreshed
  by one caller at a time (the bus lock makes it single-flight across processes).
- getuserphonenumber (``/wxa/business/getuserphonenumber``): the ``watermark.appid`` must be ours.
- subscribeMessage.send (``/cgi-bin/message/subscribe/send``): one send spends one one-time consent; the caller
  validates ``data`` first (backend/notifications/templates.py) and decides what each errcode means.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from backend.config import Settings
from backend.core.bus import Bus
from backend.wechat.exceptions import WatermarkMismatch, WechatError, WechatNotConfigured

log = logging.getLogger(__name__)

TOKEN_CACHE_KEY = "wechat:access_token"
BUSY_RETRIES = 2
TOKEN_EXPIRED_CODES = {40001, 42001, 40014}


@dataclass(frozen=True)
class Session:
    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True)
class PhoneInfo:
    phone: str
    pure_phone: str
    country_code: str


class WechatClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, bus: Bus) -> None:
        self.settings = settings
        self.http = http
        self.bus = bus
        self.base = settings.wechat_api_base.rstrip("/")

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call; -1 (system busy) and transport errors are retried at most ``BUSY_RETRIES`` times."""
        if not self.settings.wechat_configured:
            raise WechatNotConfigured()
        last: WechatError | None = None
        for attempt in range(BUSY_RETRIES + 1):
            if attempt:
                await asyncio.sleep(0.2 * attempt)
            try:
                resp = await self.http.request(
                    method, self.base + path, timeout=self.settings.wechat_timeout_seconds, **kwargs
                )
                data = resp.json()
            except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
                last = WechatError(None, f"transport: {type(exc).__name__}")
                continue
            errcode = int(data.get("errcode") or 0)
            if errcode == -1:
                last = WechatError(-1, data.get("errmsg", "system error"))
                continue
            if errcode:
                raise WechatError(errcode, data.get("errmsg", ""))
            return data
        assert last is not None
        raise last

    async def code2session(self, code: str) -> Session:
        data = await self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self.settings.wechat_appid,
                "secret": self.settings.wechat_secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        if not data.get("openid") or not data.get("session_key"):
            raise WechatError(None, "code2session answered without openid/session_key")
        return Session(openid=data["openid"], session_key=data["session_key"], unionid=data.get("unionid"))

    async def _fetch_token(self, *, force: bool) -> str:
        data = await self._call(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.settings.wechat_appid,
                "secret": self.settings.wechat_secret,
                "force_refresh": force,
            },
        )
        token, ttl = data["access_token"], int(data.get("expires_in", 7200))
        await self.bus.set(TOKEN_CACHE_KEY, token, ttl=max(ttl - 300, 60))
        return token

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token; ``stale`` names a token WeChat just rejected, forcing one refresh."""
        cached = await self.bus.get(TOKEN_CACHE_KEY)
        if cached and cached.decode() != stale:
            return cached.decode()
        async with self.bus.lock("wechat:token-refresh", ttl=15, wait=15):
            cached = await self.bus.get(TOKEN_CACHE_KEY)  # someone else may have refreshed while we waited
            if cached and cached.decode() != stale:
                return cached.decode()
            return await self._fetch_token(force=stale is not None)

    async def call_with_token(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Call an endpoint that takes ``access_token``; refresh once when WeChat says it expired."""
        token = await self.access_token()
        try:
            return await self._call(method, path, params={"access_token": token}, **kwargs)
        except WechatError as exc:
            if exc.errcode not in TOKEN_EXPIRED_CODES:
                raise
            token = await self.access_token(stale=token)
            return await self._call(method, path, params={"access_token": token}, **kwargs)

    async def phone_number(self, code: str) -> PhoneInfo:
        data = await self.call_with_token("POST", "/wxa/business/getuserphonenumber", json={"code": code})
        info = data.get("phone_info") or {}
        watermark = info.get("watermark") or {}
        if watermark.get("appid") != self.settings.wechat_appid:
            raise WatermarkMismatch(None, "phone_info watermark.appid does not match our appid")
        return PhoneInfo(
            phone=info.get("phoneNumber", ""),
            pure_phone=info.get("purePhoneNumber", ""),
            country_code=str(info.get("countryCode", "86")),
        )

    async def send_subscribe_message(
        self, *, openid: str, template_id: str, data: dict[str, str], page: str | None = None,
        state: str = "formal", lang: str = "zh_CN",
    ) -> dict[str, Any]:
        """subscribeMessage.send; ``data`` maps template keywords to values (``{"thing1": "…"}``)."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": state,
            "lang": lang,
        }
        if page:
            body["page"] = page
        return await self.call_with_token("POST", "/cgi-bin/message/subscribe/send", json=body)
