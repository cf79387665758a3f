"""Baseline: the cheapest JSON endpoint an ASGI server can answer (bare Starlette, no middleware)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"hello": "world"})


async def health(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/json", hello), Route("/healthz", health)])
