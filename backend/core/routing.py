"""Dispatch each request only to the top-level routes whose path could match it.

FastAPI 0.165 matches a request by trying every route of the app in order, and each included router is
tried twice (once to match, once to handle). With ~200 routes that was a third of the CPU a simple
authenticated write costs (profile in docs/adr/0023). ``index_routes`` keeps FastAPI's own dispatch (same
order, same partial matches for 405, trailing-slash redirects and 404) but hands it a router holding only the
top-level routes whose leading literal path segments agree with the request's first three segments.

Correctness only needs a superset: a route is kept unless one of its literal leading segments differs from
the request's segment at the same place. A route whose path starts with a parameter (or a mount at ``/``) is
kept for every request. ``tests/core/test_routing.py`` checks, for every route of the app, that the index
sends a request to the same route FastAPI alone would.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

DEPTH = 3  # path segments looked at: /api/v1/<domain>
_CACHE_LIMIT = 1024  # keys are (at most) the first three segments; a flood of odd paths only clears the cache
_ANY = None  # a route that can match any path


def _literal_prefix(path: str | None) -> tuple[str, ...] | None:
    """The leading segments of a route path before its first parameter (at most DEPTH); None for any path."""
    if path is None:
        return _ANY
    prefix: list[str] = []
    for segment in path.split("/")[1:DEPTH + 1]:
        if "{" in segment:
            break
        prefix.append(segment)
    return tuple(prefix) if prefix else _ANY


def _paths(route: BaseRoute) -> list[str | None]:
    """Every path ``route`` can match, as route templates (None: unknown, so any)."""
    contexts = getattr(route, "effective_route_contexts", None)
    if contexts is not None:  # an included router: its effective (prefixed) routes
        out: list[str | None] = []
        for ctx in contexts():
            starlette_route = getattr(ctx, "starlette_route", None)
            out.append(getattr(starlette_route, "path_format", None) or getattr(ctx, "path_format", None))
        return out
    return [getattr(route, "path_format", None)]


def _routers(router: APIRouter) -> list[APIRouter]:
    """``router`` and every router included in it, at any depth, once each."""
    found: dict[int, APIRouter] = {}
    todo = [router]
    while todo:
        current = todo.pop()
        if id(current) in found:
            continue
        found[id(current)] = current
        todo += [r.original_router for r in current.routes if hasattr(r, "original_router")]
    return list(found.values())


def _agrees(prefix: tuple[str, ...], key: tuple[str, ...]) -> bool:
    return all(a == b for a, b in zip(prefix, key, strict=False))


class RouteIndex:
    """The app router's dispatch, narrowed by path prefix. Installed by ``index_routes``."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.full = router.app  # FastAPI's own dispatch over every route
        self._version: int | None = None
        self._prefixes: list[tuple[BaseRoute, list[tuple[str, ...] | None]]] = []
        self._narrowed: dict[tuple[str, ...], Any] = {}
        self._routers: list[APIRouter] = []
        self.enabled = True

    def version(self) -> int:
        """Changes whenever a route is added anywhere in the app: every router's own counter only grows, so
        their sum does too (FastAPI's ``_get_routes_version`` computes the same sum, walking the tree)."""
        return sum(r._routes_version for r in self._routers) if self._routers else -1

    def _rebuild(self) -> None:
        self._narrowed = {}
        self._routers = _routers(self.router)
        self._version = self.version()
        self._prefixes = [
            (route, [_literal_prefix(p) for p in _paths(route)]) for route in self.router.routes
        ]
        # Low-priority routes are matched by FastAPI after every other route, across included routers; keep
        # them exact by not narrowing at all when there are any.
        self.enabled = not any(True for _ in self.router._iter_low_priority_routes())

    def narrowed(self, key: tuple[str, ...]) -> Any:
        """The app router (a shallow copy) with only the routes that may match paths starting with ``key``."""
        routes = [
            route for route, prefixes in self._prefixes
            if any(p is _ANY or _agrees(p, key) for p in prefixes)
        ]
        sub = copy.copy(self.router)
        sub.routes = routes
        return sub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.full(scope, receive, send)
            return
        if self.version() != self._version:
            self._rebuild()
        if not self.enabled:
            await self.full(scope, receive, send)
            return
        key = tuple(get_route_path(scope).split("/", DEPTH + 1)[1:DEPTH + 1])
        sub = self._narrowed.get(key)
        if sub is None:
            if len(self._narrowed) >= _CACHE_LIMIT:
                self._narrowed.clear()
            sub = self._narrowed[key] = self.narrowed(key)
        scope.setdefault("router", self.router)  # url_for and friends see the whole app
        await sub.app(scope, receive, send)


def index_routes(app: FastAPI) -> RouteIndex:
    """Route the app's requests through a ``RouteIndex`` (call once the routers are included)."""
    index = RouteIndex(app.router)
    app.router.middleware_stack = index
    return index
