"""Dispatch each request only to the routes whose path could match it.

FastAPI 0.165 matches a request by trying every route of the app in order, and each included router is
tried twice (once to match, once to handle). With ~200 routes that was a third of the CPU a simple
authenticated write costs (profile in docs/adr/0023). Two narrowings keep FastAPI's own dispatch (same
order, same partial matches for 405, trailing-slash redirects and 404) but hand it fewer routes:

- ``RouteIndex`` (the app router): only the top-level routes whose leading literal path segments agree with
  the request's first three segments;
- ``IncludedIndex`` (each router included at the top level, docs/adr/0028): only the routes whose whole
  path could match the request's (same number of segments, every literal segment equal), and the second
  of FastAPI's two matches of a request is answered from the first.

Correctness only needs a superset: a route is kept unless one of its literal segments differs from the
request's segment at the same place (or, inside a router, the segment counts differ). A route whose path
starts with a parameter, takes a ``path`` parameter, or is a mount, is kept for every request.
``tests/core/test_routing.py`` checks, for every route of the app, that the index sends a request to the
same route FastAPI alone would.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

DEPTH = 3  # path segments looked at: /api/v1/<domain>
_MEMO = "jinlin.included_match"  # scope key: an included router's match of this request, for its second call
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
        return [_context_path(ctx) for ctx in contexts()]
    return [getattr(route, "path_format", None)]


def _context_path(ctx: Any) -> str | None:
    """The (prefixed) path template of an included router's route."""
    starlette_route = getattr(ctx, "starlette_route", None)
    return getattr(starlette_route, "path_format", None) or getattr(ctx, "path_format", None)


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


def _shape(path: str | None) -> tuple[str | None, ...] | None:
    """A raw route path's segments, a parameter segment as None; None when it may match any number of
    segments (a ``path`` parameter, or no path)."""
    if path is None or ":path}" in path:
        return _ANY
    return tuple(None if "{" in segment else segment for segment in path.split("/"))


def _inner_shape(candidate: Any) -> tuple[str | None, ...] | None:
    """The shape of an included router's candidate from its raw (prefixed) path, convertors included; any
    path for nested routers, mounts and anything else whose path does not say all it matches."""
    if not isinstance(getattr(candidate, "original_route", None), (APIRoute, Route, WebSocketRoute)):
        return _ANY
    return _shape(getattr(candidate, "path", None) or getattr(candidate.starlette_route, "path", None))


def _request_key(path: str) -> tuple[str | None, ...]:
    """The request path's segments, all-digit ones (ids) as None so that one key serves every id."""
    return tuple(None if segment.isdigit() else segment for segment in path.split("/"))


def _fits(shape: tuple[str | None, ...], key: tuple[str | None, ...]) -> bool:
    return len(shape) == len(key) and all(
        a is None or b is None or a == b for a, b in zip(shape, key, strict=True)
    )


class IncludedIndex:
    """An included router's ``_match``, narrowed to the routes whose path could match the request.

    FastAPI's ``_IncludedRouter._match`` tries each of the router's routes in order (a regex and some scope
    bookkeeping each) and runs twice per request, once from ``matches`` and once from ``_handle_selected``.
    Installed on the included router instance, this calls FastAPI's own ``_match`` on a view of the router
    whose candidates are only the routes that fit the request's path (kept in FastAPI's order), and answers
    the second call of the same request (same path and method, remembered in the scope) from the first.
    ``RouteIndex`` installs a new one whenever a route is added anywhere in the app (its version check runs
    before every dispatch), so the candidates read on first use stay FastAPI's."""

    def __init__(self, included: _IncludedRouter) -> None:
        self.included = included
        self.match = type(included)._match
        self._shapes: list[tuple[Any, tuple[str | None, ...] | None]] = []
        self._views: dict[tuple[str | None, ...], _IncludedRouter] = {}

    def _view(self, key: tuple[str | None, ...]) -> _IncludedRouter:
        view = self._views.get(key)
        if view is None:
            if not self._shapes:
                self._shapes = [(c, _inner_shape(c)) for c in self.included.effective_candidates()]
            if len(self._views) >= _CACHE_LIMIT:
                self._views.clear()
            kept = [c for c, shape in self._shapes if shape is _ANY or _fits(shape, key)]
            view = copy.copy(self.included)
            view.effective_candidates = lambda: kept  # type: ignore[method-assign]
            self._views[key] = view
        return view

    def __call__(self, scope: Scope) -> Any:
        path, method = get_route_path(scope), scope.get("method")
        memo = scope.get(_MEMO)
        if memo is not None and memo[0] is self and memo[1] == path and memo[2] == method:
            return memo[3]
        result = self.match(self._view(_request_key(path)), scope)
        scope[_MEMO] = (self, path, method, result)
        return result


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
        for route in self.router.routes:
            if isinstance(route, _IncludedRouter):
                route._match = IncludedIndex(route)  # type: ignore[method-assign]
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
