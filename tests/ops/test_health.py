"""Liveness, readiness and metrics."""

from __future__ import annotations


class TestProbes:
    async def test_healthz_answers_without_touching_anything(self, client):
        resp = await client.get("/healthz")
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}

    async def test_readyz_checks_the_database_and_bus(self, client, settings):
        resp = await client.get("/readyz")
        assert resp.status_code == 200
        checks = resp.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["bus"] == ("ok" if settings.redis_url else "in-process")

    async def test_every_response_carries_a_request_id(self, client):
        resp = await client.get("/healthz", headers={"X-Request-ID": "abcdef123456"})
        assert resp.headers["x-request-id"] == "abcdef123456"
        generated = (await client.get("/healthz")).headers["x-request-id"]
        assert len(generated) == 16

    async def test_metrics_count_requests_by_route_template(self, client):
        await client.get("/api/v1/org/units/12345")
        text = (await client.get("/metrics")).text
        assert 'jinlin_http_requests_total{method="GET",route="/api/v1/org/units/{unit_id}",status="401"}' in text
