"""Bad input on every route gives a 4xx in the one error shape, never a 500, and writes nothing.

The routes come from the OpenAPI document, so a new route is covered the day it is added."""

from __future__ import annotations

import re

import pytest
from tortoise import connections

from backend.models.user import Role
from tests.builders import auth_headers, make_org_tree, make_user

BAD_IDS = ["abc", "-1", "0", "99999999999999999999999", "1.5"]
BAD_BODIES = [b"[]", b'"text"', b"not json at all", b'{"unexpected": true}', b"{" + b'"a":' * 10 + b"1"]


def _operations(app):  # type: ignore[no-untyped-def]
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            yield path, method.upper(), op


async def _row_counts(tables: list[str]) -> dict[str, int]:
    conn = connections.get("default")
    counts = {}
    for table in tables:
        if table in ("idempotency_record",):
            continue
        _, rows = await conn.execute_query(f'SELECT COUNT(*) AS n FROM "{table}"')
        counts[table] = rows[0]["n"] if isinstance(rows[0], dict) else rows[0][0]
    return counts


def _assert_error_shape(resp) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= resp.status_code < 500, (resp.request.method, resp.request.url, resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"error", "message", "detail"}, body
    assert re.search(r"[\u4e00-\u9fff]", body["message"]), body["message"]  # a Chinese message


@pytest.fixture
async def admin(settings):  # type: ignore[no-untyped-def]
    await make_org_tree(communities=1, grids=1)
    return await auth_headers(settings, await make_user(Role.ADMIN))


class TestEveryRoute:
    async def test_bad_path_ids(self, app, client, admin, database):
        before = await _row_counts(database.tables)
        checked = 0
        for path, method, _ in _operations(app):
            if "{" not in path:
                continue
            for bad in BAD_IDS:
                url = re.sub(r"\{[^}]+\}", bad, path)
                resp = await client.request(method, url, headers=admin, json={})
                _assert_error_shape(resp)
                checked += 1
        assert checked > 10
        assert await _row_counts(database.tables) == before

    async def test_bad_bodies(self, app, client, admin, database):
        before = await _row_counts(database.tables)
        checked = 0
        for path, method, op in _operations(app):
            if "requestBody" not in op:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            content_type = next(iter(op["requestBody"]["content"]))
            for body in BAD_BODIES:
                resp = await client.request(method, url, headers={**admin, "Content-Type": content_type}, content=body)
                _assert_error_shape(resp)
                checked += 1
        assert checked > 10
        assert await _row_counts(database.tables) == before

    async def test_bad_query_parameters(self, app, client, admin):
        for path, method, op in _operations(app):
            if method != "GET" or "{" in path:
                continue
            for param in op.get("parameters", []):
                if param["in"] != "query":
                    continue
                resp = await client.get(path, headers=admin, params={param["name"]: "x" * 300})
                assert resp.status_code < 500, (path, param["name"], resp.text)
                if resp.status_code >= 400:
                    _assert_error_shape(resp)

    async def test_unknown_routes_and_methods(self, client, admin):
        for method, url in [("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/me"), ("PUT", "/api/v1/org/units")]:
            _assert_error_shape(await client.request(method, url, headers=admin))

    async def test_no_stack_traces_leak(self, client, admin):
        resp = await client.post("/api/v1/org/units", headers={**admin, "Content-Type": "application/json"}, content=b"{")
        assert "Traceback" not in resp.text and "File \"" not in resp.text
