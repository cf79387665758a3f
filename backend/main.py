"""The FastAPI application: ``create_app(settings)`` wires routers, middleware, error handlers and the
lifespan (database, bus, outgoing HTTP client, and in the embedded shape the outbox worker)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from tortoise.contrib.fastapi import RegisterTortoise

import backend
from backend import __version__
from backend.auth import principals
from backend.auth.router import dev_router as auth_dev_router
from backend.config import Settings, get_settings
from backend.core import heap, sql
from backend.core.bus import make_bus, set_bus
from backend.core.db import is_postgres, tortoise_config
from backend.core.handlers import install_error_handlers
from backend.core.idempotency import IdempotencyMiddleware
from backend.core.logging import configure_logging
from backend.core.middleware import MethodOverrideMiddleware, RequestContextMiddleware
from backend.core.routing import index_routes
from backend.outbox import registry
from backend.outbox.worker import Worker

log = logging.getLogger(__name__)


def discover_routers() -> list[APIRouter]:
    """``router`` of every ``backend.<domain>.router`` module, in a stable order (adding a domain touches no
    shared file). Development-only routers are named ``dev_router`` and included by ``create_app``."""
    found = []
    for info in sorted(pkgutil.iter_modules(backend.__path__), key=lambda m: m.name):
        if info.ispkg and importlib.util.find_spec(f"backend.{info.name}.router") is not None:
            module = importlib.import_module(f"backend.{info.name}.router")
            if isinstance(getattr(module, "router", None), APIRouter):
                found.append(module.router)
    return found


def operation_id(route: APIRoute) -> str:
    """Stable operation ids (``<tag>-<function name>``) so the generated client does not churn."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    bus = make_bus(settings.redis_url)
    set_bus(bus)
    app.state.bus = bus
    app.state.http = httpx.AsyncClient(timeout=settings.wechat_timeout_seconds)
    registry.load_all()
    worker_task = None
    async with (
        RegisterTortoise(app, config=tortoise_config(settings)),
        principals.running(settings.auth_cache_seconds, bus),
    ):
        sql.install_write_slots(settings.write_slots if is_postgres(settings) else None)
        if settings.run_worker_in_process:
            worker = Worker(settings, bus, name="in-process")
            worker_task = asyncio.create_task(worker.run_forever())
        heap.settle(settings.gc_threshold)  # after startup: freeze what lives as long as the process
        try:
            yield
        finally:
            for hook in getattr(app.state, "shutdown_hooks", []):  # e.g. the notifications hub, started lazily
                with contextlib.suppress(Exception):
                    await hook()
            if worker_task is not None:
                worker.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker_task, timeout=10)
            await app.state.http.aclose()
            await bus.close()
            set_bus(None)
            sql.install_write_slots(None)


def _mount_h5(app: FastAPI, h5_dir: Path | None) -> None:
    if h5_dir is not None and (h5_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=h5_dir, html=True), name="h5")
        return

    @app.get("/", include_in_schema=False)
    async def _no_h5() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>近邻 Jinlin</title>"
            "<h1>近邻 Jinlin</h1><p>小程序的 H5 版本尚未构建（运行 <code>make run</code> 会自动构建）。</p>"
            "<p>接口文档：<a href=/docs>/docs</a></p>"
        )


def create_app(settings: Settings | None = None, *, with_lifespan: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_lines=settings.json_logs)
    dev = settings.is_development
    app = FastAPI(
        title="近邻 Jinlin API",
        version=__version__,
        description="社区治理平台：吹哨报到、说议办评晒、爱心超市、时间银行、入户走访。错误统一为 "
        '`{"error", "message", "detail"}`。',
        lifespan=lifespan if with_lifespan else None,
        generate_unique_id_function=operation_id,
        docs_url="/docs" if dev else None,
        redoc_url=None,
        openapi_url="/openapi.json" if dev or settings.env == "test" else None,
        telemetry=None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in discover_routers():
        app.include_router(router)
    if dev:
        app.include_router(auth_dev_router)
    _mount_h5(app, settings.h5_dir)
    index_routes(app)

    app.add_middleware(IdempotencyMiddleware, settings=settings)
    app.add_middleware(MethodOverrideMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],  # includes Idempotency-Key and X-HTTP-Method-Override
            expose_headers=["X-Request-ID", "Idempotent-Replayed"],
        )
    app.add_middleware(RequestContextMiddleware)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory backend.main:app_factory``."""
    return create_app()
