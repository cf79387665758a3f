"""The development login exists only in development."""

from __future__ import annotations

import httpx
import pytest

from backend.main import create_app
from backend.models.user import Role
from tests.builders import make_org_tree, make_user


@pytest.fixture
async def dev_client(settings, bus):  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"env": "development"}), with_lifespan=False)
    app.state.bus, app.state.http = bus, httpx.AsyncClient()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dev") as c:
        yield c
    await app.state.http.aclose()


class TestDevLogin:
    async def test_lists_demo_accounts_with_their_roles(self, dev_client):
        tree = await make_org_tree(communities=1, grids=1)
        worker = await make_user(Role.GRID_WORKER, tree.grid(), name="张网格", is_demo=True)
        await make_user(Role.RESIDENT, tree.community(), name="不是演示账号")
        resp = await dev_client.get("/api/v1/auth/dev-login")
        assert resp.status_code == 200
        accounts = resp.json()["accounts"]
        assert [a["user_id"] for a in accounts] == [worker.id]
        assert accounts[0]["roles"] == ["grid_worker"] and "网格员" in accounts[0]["label"]

    async def test_logs_in_a_demo_account_only(self, dev_client):
        demo = await make_user(name="演示", is_demo=True)
        real = await make_user(name="真实居民")
        ok = await dev_client.post("/api/v1/auth/dev-login", json={"user_id": demo.id})
        assert ok.status_code == 200
        me = await dev_client.get("/api/v1/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"})
        assert me.json()["id"] == demo.id
        assert (await dev_client.post("/api/v1/auth/dev-login", json={"user_id": real.id})).status_code == 404

    async def test_does_not_exist_outside_development(self, client):
        await make_user(name="演示", is_demo=True)
        assert (await client.get("/api/v1/auth/dev-login")).status_code == 404
        resp = await client.post("/api/v1/auth/dev-login", json={"user_id": 1})
        assert resp.status_code in (404, 405)
        assert resp.json()["error"] in ("NotFound", "MethodNotAllowed")
