"""The admin view of the outbox: what failed, why, and a button to try again."""

from __future__ import annotations

import pytest

import tests.outbox.handlers  # noqa: F401 - registers the test handlers
from backend.core.db import atomic
from backend.models.audit import AuditLog
from backend.models.outbox import OutboxEvent, OutboxStatus
from backend.models.user import Role
from backend.outbox import service as outbox
from backend.outbox.worker import Worker
from tests.builders import auth_headers, make_org_tree, make_user


@pytest.fixture
async def dead_event(settings, bus):  # type: ignore[no-untyped-def]
    async with atomic():
        event = await outbox.enqueue("test.hopeless", {"who": "nobody"})
        await outbox.enqueue("test.tick")
    await Worker(settings, bus).run_due()
    await event.refresh_from_db()
    assert event.status == OutboxStatus.DEAD
    return event


class TestOutboxAdmin:
    async def test_dead_events_are_listed_with_their_error(self, client, settings, dead_event):
        headers = await auth_headers(settings, await make_user(Role.ADMIN))
        page = (await client.get("/api/v1/admin/outbox", headers=headers)).json()
        assert [e["id"] for e in page["items"]] == [dead_event.id]
        assert "does not exist" in page["items"][0]["last_error"]
        stats = (await client.get("/api/v1/admin/outbox/stats", headers=headers)).json()
        assert stats["counts"]["test.hopeless"] == {"dead": 1}
        assert stats["counts"]["test.tick"] == {"done": 1}

    async def test_retry_puts_it_back_in_the_queue_and_is_audited(self, client, settings, dead_event):
        admin = await make_user(Role.ADMIN)
        resp = await client.post(f"/api/v1/admin/outbox/{dead_event.id}/retry", headers=await auth_headers(settings, admin))
        assert resp.status_code == 200 and resp.json()["status"] == "pending" and resp.json()["attempts"] == 0
        assert await AuditLog.filter(action="outbox:retry", actor_id=admin.id).exists()
        again = await client.post(f"/api/v1/admin/outbox/{dead_event.id}/retry", headers=await auth_headers(settings, admin))
        assert again.status_code == 404  # no longer dead

    async def test_only_admins_see_it(self, client, settings, dead_event):
        tree = await make_org_tree(communities=1, grids=1)
        staff = await auth_headers(settings, await make_user(Role.STREET_STAFF, tree.street))
        assert (await client.get("/api/v1/admin/outbox", headers=staff)).status_code == 403
        assert (await client.post(f"/api/v1/admin/outbox/{dead_event.id}/retry", headers=staff)).status_code == 403
        assert (await OutboxEvent.get(id=dead_event.id)).status == OutboxStatus.DEAD
