"""Named dependencies for what the app holds: settings, bus, the outgoing HTTP client."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from backend.config import Settings
from backend.core.bus import Bus


# ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, a costly hop per request.
async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_app_bus(request: Request) -> Bus:
    return request.app.state.bus


async def get_http(request: Request) -> httpx.AsyncClient:
    return request.app.state.http


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
BusDep = Annotated[Bus, Depends(get_app_bus)]
HttpDep = Annotated[httpx.AsyncClient, Depends(get_http)]
