"""A fake WeChat server that speaks the documented request/response/errcode shapes of the endpoints Jinlin
calls, so tests (and ``make run`` when asked) never reach the real api.weixin.qq.com.

Scripting from Python (same process) or over HTTP (``/__fake__/...``, for server processes):
    fake.add_code("code-1", openid="o-1")           # wx.login codes
    fake.fail("jscode2session", errcode=-1, times=2) # the next two calls answer errcode -1
    fake.add_phone_code("p-1", "13800000000")        # getPhoneNumber codes
    fake.expire_tokens()                              # every issued access token now answers 42001
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk level user, login is forbidden",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    47003: "argument invalid!",
}


@dataclass
class FakeWechat:
    appid: str = "wx-test-appid"
    secret: str = "wx-test-secret"
    watermark_appid: str | None = None  # None: answer with our appid
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    phone_codes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    sent: list[dict[str, Any]] = field(default_factory=list)
    token_delay: float = 0.0
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ scripting
    def add_code(self, code: str, *, openid: str, unionid: str | None = None) -> None:
        self.codes[code] = {"openid": openid, "unionid": unionid}

    def add_phone_code(self, code: str, phone: str) -> None:
        self.phone_codes[code] = phone

    def fail(self, endpoint: str, *, errcode: int, times: int = 1) -> None:
        self.failures[endpoint].extend([errcode] * times)

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def reset(self) -> None:
        self.codes.clear(), self.used_codes.clear(), self.phone_codes.clear()
        self.failures.clear(), self.calls.clear(), self.tokens.clear(), self.sent.clear()
        self.watermark_appid = None
        self.token_delay = 0.0

    # ------------------------------------------------------------------ helpers
    def _scripted_failure(self, endpoint: str) -> JSONResponse | None:
        with self._lock:
            self.calls[endpoint] += 1
            queue = self.failures.get(endpoint)
            errcode = queue.pop(0) if queue else None
        if errcode is None:
            return None
        return JSONResponse({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})

    def _token_error(self, request: Request) -> JSONResponse | None:
        token = request.query_params.get("access_token", "")
        expiry = self.tokens.get(token)
        if expiry is None:
            return JSONResponse({"errcode": 40001, "errmsg": ERRMSG[40001]})
        if expiry <= time.monotonic():
            return JSONResponse({"errcode": 42001, "errmsg": ERRMSG[42001]})
        return None

    # ------------------------------------------------------------------ endpoints
    async def jscode2session(self, request: Request) -> JSONResponse:
        q = request.query_params
        if failure := self._scripted_failure("jscode2session"):
            return failure
        if q.get("appid") != self.appid:
            return JSONResponse({"errcode": 40013, "errmsg": ERRMSG[40013]})
        if q.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": ERRMSG[40125]})
        if q.get("grant_type") != "authorization_code":
            return JSONResponse({"errcode": 47003, "errmsg": ERRMSG[47003]})
        code = q.get("js_code", "")
        if code in self.used_codes:
            return JSONResponse({"errcode": 40163, "errmsg": ERRMSG[40163]})
        info = self.codes.get(code)
        if info is None:
            return JSONResponse({"errcode": 40029, "errmsg": ERRMSG[40029]})
        self.used_codes.add(code)
        body = {"openid": info["openid"], "session_key": f"sk-{info['openid']}-{next(self._seq)}"}
        if info.get("unionid"):
            body["unionid"] = info["unionid"]
        return JSONResponse(body)

    async def stable_token(self, request: Request) -> JSONResponse:
        if failure := self._scripted_failure("stable_token"):
            return failure
        data = await request.json()
        if data.get("appid") != self.appid or data.get("secret") != self.secret:
            return JSONResponse({"errcode": 40013, "errmsg": ERRMSG[40013]})
        if self.token_delay:
            import asyncio

            await asyncio.sleep(self.token_delay)
        token = f"fake-token-{next(self._seq)}"
        self.tokens[token] = time.monotonic() + 7200
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def phone_number(self, request: Request) -> JSONResponse:
        if failure := self._scripted_failure("getuserphonenumber"):
            return failure
        if error := self._token_error(request):
            return error
        data = await request.json()
        phone = self.phone_codes.pop(data.get("code", ""), None)
        if phone is None:
            return JSONResponse({"errcode": 40029, "errmsg": ERRMSG[40029]})
        return JSONResponse({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": phone,
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": self.watermark_appid or self.appid},
            },
        })

    async def subscribe_send(self, request: Request) -> JSONResponse:
        if failure := self._scripted_failure("subscribe_send"):
            return failure
        if error := self._token_error(request):
            return error
        self.sent.append(await request.json())
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": next(self._seq)})

    # ------------------------------------------------------------------ control over HTTP
    async def control(self, request: Request) -> JSONResponse:
        action = request.path_params["action"]
        data = await request.json() if action != "state" else {}
        if action == "code":
            self.add_code(data["code"], openid=data["openid"], unionid=data.get("unionid"))
        elif action == "phone":
            self.add_phone_code(data["code"], data["phone"])
        elif action == "fail":
            self.fail(data["endpoint"], errcode=int(data["errcode"]), times=int(data.get("times", 1)))
        elif action == "expire":
            self.expire_tokens()
        elif action == "reset":
            self.reset()
        return JSONResponse({"calls": dict(self.calls), "sent": self.sent})

    def asgi(self) -> Starlette:
        return Starlette(routes=[
            Route("/sns/jscode2session", self.jscode2session, methods=["GET"]),
            Route("/cgi-bin/stable_token", self.stable_token, methods=["POST"]),
            Route("/wxa/business/getuserphonenumber", self.phone_number, methods=["POST"]),
            Route("/cgi-bin/message/subscribe/send", self.subscribe_send, methods=["POST"]),
            Route("/__fake__/{action}", self.control, methods=["GET", "POST"]),
        ])


def serve_in_thread(fake: FakeWechat, port: int = 0):  # type: ignore[no-untyped-def]
    """Run the fake on a real port in a background thread; returns (base_url, stop)."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake.asgi(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return f"http://127.0.0.1:{port}", stop


if __name__ == "__main__":  # python -m tests.fakes.wechat [port]: for make run with JINLIN_WECHAT_API_BASE
    import sys

    import uvicorn

    uvicorn.run(FakeWechat(appid="wx-dev-appid", secret="wx-dev-secret").asgi(), port=int(sys.argv[1]) if len(sys.argv) > 1 else 8090)
