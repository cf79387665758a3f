"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tortoise import connections

from backend.core.deps import BusDep, SettingsDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """进程存活。"""
    return {"status": "ok"}


async def _check(coro) -> str:  # type: ignore[no-untyped-def]
    try:
        await asyncio.wait_for(coro, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"error: {type(exc).__name__}"


@router.get("/readyz")
async def readyz(settings: SettingsDep, bus: BusDep) -> JSONResponse:
    """可以接收请求：数据库和（生产环境的）Redis 都能连通。"""
    checks = {"database": await _check(connections.get("default").execute_query("SELECT 1"))}
    checks["bus"] = await _check(bus.ping()) if settings.redis_url else "in-process"
    ready = all(v in ("ok", "in-process") for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
