"""The principal cache (backend/auth/principals.py): one query for a burst of requests of one session, a user
object of its own for each request, invalidations that reach every process, and no trust in the cache while
its invalidation channel is down."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from backend.auth import principals, repository
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.auth import AuthSession
from backend.models.user import Role, RoleGrant
from tests.builders import auth_headers, make_org_tree, make_user, tokens_for


@pytest.fixture
def queries(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the principal queries that reach the database."""
    calls: list[object] = []
    real = repository.principal_of_session

    async def counting(session_id):  # type: ignore[no-untyped-def]
        calls.append(session_id)
        return await real(session_id)

    monkeypatch.setattr(repository, "principal_of_session", counting)
    return calls


@contextlib.asynccontextmanager
async def listening(cache: principals.PrincipalCache, bus):  # type: ignore[no-untyped-def]
    """Another API process's cache, subscribed to the same bus."""
    task = asyncio.create_task(cache.listen(bus))
    try:
        deadline = time.monotonic() + 5
        while not cache.live:
            assert time.monotonic() < deadline, "the cache never subscribed"
            await asyncio.sleep(0.01)
        yield cache
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _wait_until(predicate, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def _session(settings, user):  # type: ignore[no-untyped-def]
    pair = await tokens_for(settings, user)
    return pair, (await AuthSession.filter(user_id=user.id).order_by("-created_at").first()).id


class TestReading:
    async def test_a_burst_of_one_session_costs_one_query(self, app, settings, bus, queries):
        user = await make_user(name="王秀英")
        _, sid = await _session(settings, user)
        async with listening(principals.PrincipalCache(30), bus) as cache:
            found = await asyncio.gather(*(cache.principal_of(sid) for _ in range(20)))
            assert len(queries) == 1
            assert {f[0].id for f in found} == {user.id}
            await cache.principal_of(sid)
            assert len(queries) == 1
            cache.forget_session(sid)
            await cache.principal_of(sid)
            assert len(queries) == 2

    async def test_each_request_gets_its_own_user_object(self, app, settings, bus):
        user = await make_user(name="王秀英")
        _, sid = await _session(settings, user)
        async with listening(principals.PrincipalCache(30), bus) as cache:
            first, _ = await cache.principal_of(sid)
            first.name = "被改掉的名字"
            second, _ = await cache.principal_of(sid)
            third, _ = await cache.principal_of(sid)
            assert second is not third
            assert second.name == third.name == "王秀英"

    async def test_an_unknown_or_revoked_session_is_not_remembered(self, app, settings, bus, queries):
        user = await make_user()
        _, sid = await _session(settings, user)
        await AuthSession.filter(id=sid).update(revoked_at=utcnow(), revoked_reason="test")
        async with listening(principals.PrincipalCache(30), bus) as cache:
            assert await cache.principal_of(sid) is None
            assert await cache.principal_of(sid) is None
            assert len(queries) == 2


class TestInvalidation:
    async def test_logout_reaches_the_other_processes(self, app, client, settings, bus):
        user = await make_user(name="王秀英")
        pair, sid = await _session(settings, user)
        headers = {"Authorization": f"Bearer {pair.access_token}"}
        async with listening(principals.PrincipalCache(30), bus) as other:
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
            assert await other.principal_of(sid) is not None
            resp = await client.post("/api/v1/auth/logout", json={"refresh_token": pair.refresh_token})
            assert resp.status_code == 204
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 401  # here: at once
            await _wait_until(lambda: sid not in other._rows)  # the other: when the bus message lands
            assert await other.principal_of(sid) is None

    async def test_a_removed_grant_is_gone_on_the_next_request(self, app, client, settings):
        tree = await make_org_tree(communities=1, grids=1)
        admin = await make_user(Role.ADMIN, name="管理员")
        worker = await make_user(Role.GRID_WORKER, tree.grid(0, 0), name="网格员")
        headers = await auth_headers(settings, worker)
        me = await client.get("/api/v1/me", headers=headers)
        assert [r["role"] for r in me.json()["roles"]] == ["grid_worker"]
        grant = await RoleGrant.get(user_id=worker.id)
        resp = await client.delete(f"/api/v1/users/{worker.id}/grants/{grant.id}",
                                   headers=await auth_headers(settings, admin))
        assert resp.status_code == 204
        me = await client.get("/api/v1/me", headers=headers)
        assert me.json()["roles"] == []

    async def test_a_forget_inside_a_transaction_also_applies_after_the_commit(self, app, settings, bus):
        """A request that read the old row between the forget and the commit must not keep it."""
        user = await make_user(name="王秀英")
        _, sid = await _session(settings, user)
        cache = principals.current()
        assert cache is not None and cache.live
        async with atomic():
            principals.forget_user(user.id)
            await cache.principal_of(sid)  # re-remembered before the change commits
            assert sid in cache._rows
        assert sid not in cache._rows


class TestTrust:
    async def test_without_its_invalidation_channel_the_cache_is_not_used(self, app, settings, queries):
        user = await make_user()
        _, sid = await _session(settings, user)
        cache = principals.PrincipalCache(30)  # never subscribed: as when Redis is away
        assert await cache.principal_of(sid) is not None
        await AuthSession.filter(id=sid).update(revoked_at=utcnow(), revoked_reason="behind its back")
        assert await cache.principal_of(sid) is None
        assert len(queries) == 2

    async def test_a_change_made_behind_its_back_shows_within_the_ttl(self, app, settings, bus):
        user = await make_user()
        _, sid = await _session(settings, user)
        async with listening(principals.PrincipalCache(0.3), bus) as cache:
            assert await cache.principal_of(sid) is not None
            await AuthSession.filter(id=sid).update(revoked_at=utcnow(), revoked_reason="by hand")
            assert await cache.principal_of(sid) is not None  # remembered: nobody said anything
            await asyncio.sleep(0.35)
            assert await cache.principal_of(sid) is None

    async def test_a_lost_subscription_empties_the_cache(self, app, settings, bus):
        user = await make_user()
        _, sid = await _session(settings, user)
        cache = principals.PrincipalCache(30)
        async with listening(cache, bus):
            await cache.principal_of(sid)
            assert sid in cache._rows
        assert not cache.live and not cache._rows
