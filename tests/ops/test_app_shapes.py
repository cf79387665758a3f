"""What differs between development and production, CORS, and readiness when Redis is away."""

from __future__ import annotations

import httpx
import pytest

from backend.core.bus import RedisBus
from backend.main import create_app
from backend.models.user import Role
from tests.builders import make_org_tree, make_user


async def _client_for(app, bus):  # type: ignore[no-untyped-def]
    app.state.bus, app.state.http = bus, httpx.AsyncClient()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shape")


class TestShapes:
    async def test_docs_exist_in_development_only(self, settings, bus):
        async with await _client_for(create_app(settings.model_copy(update={"env": "development"}), with_lifespan=False), bus) as dev:
            assert (await dev.get("/docs")).status_code == 200
        prod_settings = settings.model_copy(update={"env": "production"})
        async with await _client_for(create_app(prod_settings, with_lifespan=False), bus) as prod:
            assert (await prod.get("/docs")).status_code == 404
            assert (await prod.get("/openapi.json")).status_code == 404
            assert (await prod.get("/api/v1/auth/dev-login")).status_code == 404

    async def test_cors_answers_configured_origins_only(self, settings, bus):
        app = create_app(settings.model_copy(update={"cors_origins": ["https://h5.example.org"]}), with_lifespan=False)
        async with await _client_for(app, bus) as client:
            ok = await client.options("/api/v1/me", headers={
                "Origin": "https://h5.example.org", "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,idempotency-key"})
            assert ok.headers["access-control-allow-origin"] == "https://h5.example.org"
            other = await client.options("/api/v1/me", headers={
                "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
            assert "access-control-allow-origin" not in other.headers

    async def test_readyz_is_503_when_redis_is_away(self, settings, bus):
        dead_bus = RedisBus("redis://127.0.0.1:9/0")
        app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}), with_lifespan=False)
        async with await _client_for(app, dead_bus) as client:
            resp = await client.get("/readyz")
            assert resp.status_code == 503
            assert resp.json()["checks"]["database"] == "ok" and resp.json()["checks"]["bus"].startswith("error")
        await dead_bus.close()


class TestTimestamps:
    async def test_times_are_stored_in_utc_and_shown_in_shanghai(self, client, settings):
        from tests.builders import auth_headers

        tree = await make_org_tree(communities=1, grids=1)
        headers = await auth_headers(settings, await make_user(Role.ADMIN))
        body = (await client.get(f"/api/v1/org/units/{tree.street.id}", headers=headers)).json()
        assert body["created_at"].endswith("+08:00")
        assert tree.street.created_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_probes_need_no_login(client, path):
    assert (await client.get(path)).status_code == 200
