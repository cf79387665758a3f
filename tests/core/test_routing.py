"""The route index (backend/core/routing.py) sends every request where FastAPI alone would."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from backend.core.routing import IncludedIndex, RouteIndex, index_routes

_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
_SAMPLE = {"int": "7", "path": "a/b.txt", "uuid": "3f2b8c1e-0000-4000-8000-000000000001", "float": "1.5"}


def _effective_routes(app: FastAPI):  # type: ignore[no-untyped-def]
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for ctx in route.effective_route_contexts():
                yield getattr(ctx.starlette_route, "path_format", None) or ctx.path_format, ctx.methods
        else:
            yield getattr(route, "path_format", None), getattr(route, "methods", None)


def _sample_path(template: str) -> str:
    return _PARAM.sub(lambda m: _SAMPLE.get(m.group(2) or "", "x1"), template)


def _scope(path: str, method: str = "GET", kind: str = "http") -> dict:
    return {"type": kind, "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}


def _first(routes, scope: dict):  # type: ignore[no-untyped-def]
    """FastAPI's choice among ``routes``: the first full match, else the first partial one (405)."""
    partial = None
    for route in routes:
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return route, Match.FULL
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (partial, Match.PARTIAL) if partial is not None else (None, Match.NONE)


def _requests(app: FastAPI):  # type: ignore[no-untyped-def]
    for template, methods in _effective_routes(app):
        if template is None:
            continue
        path = _sample_path(template)
        for method in sorted(methods or {"GET"}) + ["PATCH", "OPTIONS"]:
            yield path, method
        yield path.rstrip("/") + "/" if not path.endswith("/") else path.rstrip("/") or "/", "GET"
    yield "/nowhere/at/all", "GET"
    yield "/api/v1/nothing-here", "POST"
    yield "/", "GET"
    yield "/api", "GET"


def _included(app: FastAPI) -> list[_IncludedRouter]:
    return [r for r in app.router.routes if isinstance(r, _IncludedRouter)]


def _fastapi_alone(app: FastAPI, scope: dict):  # type: ignore[no-untyped-def]
    """FastAPI's choice with neither index: the inner ones taken off for the call, then put back."""
    inner = {id(r): r.__dict__.pop("_match") for r in _included(app) if "_match" in r.__dict__}
    try:
        return _first(app.router.routes, scope)
    finally:
        for r in _included(app):
            if id(r) in inner:
                r._match = inner[id(r)]


def test_every_route_is_reached_exactly_as_without_the_index(app: FastAPI) -> None:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    index._rebuild()
    assert index.version() == app.router._get_routes_version()
    assert index.enabled
    included = _included(app)
    assert included and all(isinstance(r.__dict__.get("_match"), IncludedIndex) for r in included)
    checked = 0
    for path, method in _requests(app):
        scope = _scope(path, method)
        key = tuple(path.split("/", 4)[1:4])
        expected = _fastapi_alone(app, scope)
        narrowed = index.narrowed(key).routes
        assert _first(narrowed, scope) == expected, (method, path)
        # inside each included router: the narrowed match is FastAPI's own, route, context and parameters
        for router in included:
            alone = _IncludedRouter._match(router, dict(scope))
            assert router._match(dict(scope)) == alone, (method, path)
        checked += 1
    assert checked > 500
    # and it narrows: a domain request is matched against a few routers, not all of them
    assert len(index.narrowed(("api", "v1", "me")).routes) <= 3
    assert len(app.router.routes) > 10


def test_an_included_router_tries_only_the_routes_that_fit_and_matches_once(app: FastAPI) -> None:
    app.router.middleware_stack._rebuild()
    scope = _scope("/api/v1/store/orders", "POST")
    router = next(r for r in _included(app) if r.matches(dict(scope))[0] == Match.FULL)
    inner = router.__dict__["_match"]
    assert len(inner._view(("", "api", "v1", "store", "orders")).effective_candidates()) <= 3
    assert len(router.effective_candidates()) > 10
    calls = []
    real = inner.match
    inner.match = lambda view, s: calls.append(1) or real(view, s)  # type: ignore[method-assign]
    try:
        first = router._match(scope)
        assert router._match(scope) is first  # FastAPI's second match of the request: remembered
        assert len(calls) == 1
        # the scope remembers the POST: a PUT of the path, or another path (a redirect's), is matched afresh
        assert router._match(dict(scope, method="PUT"))[0] == Match.PARTIAL
        assert router._match(dict(scope, path="/api/v1/store/orders/"))[0] == Match.NONE
        assert len(calls) == 3
    finally:
        inner.match = real  # type: ignore[method-assign]


async def test_routes_added_to_an_included_router_later_are_reached() -> None:
    from fastapi import APIRouter

    fresh, router = FastAPI(), APIRouter(prefix="/api/v1/things")

    @router.get("/{n}")
    async def one(n: int) -> dict:
        return {"n": n}

    fresh.include_router(router)
    index_routes(fresh)
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url="http://t") as c:
        assert (await c.get("/api/v1/things/4")).json() == {"n": 4}

        @router.get("/{n}/parts")
        async def parts(n: int) -> dict:
            return {"parts": n}

        fresh.include_router(router)  # FastAPI sees routes added to a router only when it is included again
        assert (await c.get("/api/v1/things/5/parts")).json() == {"parts": 5}
        assert (await c.get("/api/v1/things/5")).json() == {"n": 5}
        assert (await c.post("/api/v1/things/5")).status_code == 405
        assert (await c.get("/api/v1/things/x/y/z")).status_code == 404


def test_websocket_route_is_reached(app: FastAPI) -> None:
    index = app.router.middleware_stack
    scope = _scope("/api/v1/ws", kind="websocket")
    expected = _first(app.router.routes, scope)
    assert expected[1] == Match.FULL
    assert _first(index.narrowed(("api", "v1", "ws")).routes, scope) == expected


async def test_routes_added_later_are_indexed(client, app: FastAPI) -> None:  # type: ignore[no-untyped-def]
    fresh = FastAPI()

    @fresh.get("/api/v1/early")
    async def early() -> dict:
        return {"at": "early"}

    index_routes(fresh)
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url="http://t") as c:
        assert (await c.get("/api/v1/early")).json() == {"at": "early"}

        @fresh.get("/api/v1/late/{n}")
        async def late(n: int) -> dict:
            return {"n": n}

        assert (await c.get("/api/v1/late/3")).json() == {"n": 3}
        assert (await c.post("/api/v1/late/3")).status_code == 405
        assert (await c.get("/api/v1/elsewhere")).status_code == 404


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/no-such-thing", 404),
    ("DELETE", "/api/v1/me", 405),
])
async def test_misses_keep_the_error_shape(client, method: str, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    resp = await client.request(method, path)
    assert resp.status_code == status
    assert set(resp.json()) == {"error", "message", "detail"}
