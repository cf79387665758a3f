"""What outbox handlers need from their process: settings, an HTTP client, the WeChat client, templates.

Handlers receive only the event, so these come from here: ``get_settings()`` by default (API and worker
processes read the same environment); tests call ``configure(settings)`` with theirs.
"""

from __future__ import annotations

import asyncio

import httpx

from backend.config import Settings, get_settings
from backend.core.bus import get_bus
from backend.notifications.templates import Template, parse
from backend.wechat.client import WechatClient

_settings: Settings | None = None
_http: dict[int, httpx.AsyncClient] = {}
_templates: tuple[int, dict[str, Template]] | None = None


def configure(settings: Settings | None) -> None:
    global _settings, _templates
    _settings, _templates = settings, None


def settings() -> Settings:
    return _settings or get_settings()


def templates() -> dict[str, Template]:
    """Parsed ``wechat_templates`` (raises ``TemplateError`` when the configuration is malformed)."""
    global _templates
    current = settings()
    if _templates is None or _templates[0] != id(current):
        _templates = (id(current), parse(current.wechat_templates))
    return _templates[1]


def http() -> httpx.AsyncClient:
    """One outgoing client per event loop (connection pools belong to a loop)."""
    loop = id(asyncio.get_running_loop())
    client = _http.get(loop)
    if client is None or client.is_closed:
        client = _http[loop] = httpx.AsyncClient(timeout=settings().wechat_timeout_seconds)
    return client


def wechat() -> WechatClient:
    return WechatClient(settings(), http(), get_bus())
