"""The delivered step's photo: only the volunteer's own, unused upload is accepted (attached to the task in
the same transaction), anything else is a 422 that changes nothing; the photo's signed URL is in the task
detail for the holder, the household and staff in scope, and nobody else. The store's pick-up confirmation
tells both the volunteer holding the task and the household."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from backend.models.media import MediaFile
from backend.models.notifications import InboxItem
from backend.models.tasks import Task, TaskEvent, TaskStatus
from tests.builders import auth_headers
from tests.delivery.conftest import run_outbox, volunteer
from tests.delivery.test_tasks import NEAR, _delivery, _help
from tests.media.conftest import app_client, phone_photo


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest_asyncio.fixture
async def client(settings, bus, media_dir) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The app with this test's media directory (uploads never land in var/)."""
    async with app_client(settings.model_copy(update={"media_dir": media_dir}), bus) as c:
        yield c


async def upload(client, headers) -> int:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/v1/media", headers=headers, files={"file": ("door.jpg", phone_photo(), "image/jpeg")}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def held_help_task(client, settings, bus, world):  # type: ignore[no-untyped-def]
    """A help task accepted by 甲 (乙 was offered it too and still sees it); returns (task id, 甲, 乙)."""
    a = await volunteer(settings, "甲", NEAR, community=world.community)
    b = await volunteer(settings, "乙", NEAR, community=world.community)
    task_id = await _help(client, world)
    await run_outbox(settings, bus)
    ha, hb = await auth_headers(settings, a), await auth_headers(settings, b)
    assert (await client.post(f"/api/v1/tasks/{task_id}/accept", headers=ha)).status_code == 200
    return task_id, ha, hb


def deliver(client, task_id: int, headers, photo: int | None):  # type: ignore[no-untyped-def]
    body = {"lat": 36.0717, "lng": 103.741, "note": "放门口了"}
    if photo is not None:
        body["photo_media_id"] = photo
    return client.post(f"/api/v1/tasks/{task_id}/deliver", headers=headers, json=body)


class TestDeliveryPhoto:
    async def test_the_volunteers_own_photo_is_attached_and_shown_to_those_who_may_see_the_task(
        self, client, settings, bus, world
    ):
        task_id, ha, hb = await held_help_task(client, settings, bus, world)
        photo = await upload(client, ha)
        resp = await deliver(client, task_id, ha, photo)
        assert resp.status_code == 200 and resp.json()["status"] == "delivered", resp.text
        assert resp.json()["photo_media_id"] == photo and resp.json()["photo_url"]
        row = await MediaFile.get(id=photo)
        assert (row.owner_type, row.owner_id) == ("task", task_id) and row.attached_at is not None
        for who in ("resident", "family", "grid_worker", "staff"):
            detail = await client.get(f"/api/v1/tasks/{task_id}", headers=world.headers[who])
            url = detail.json()["photo_url"]
            assert detail.status_code == 200 and url.startswith(f"/api/v1/media/{photo}/content?"), who
            image = await client.get(url)
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            assert (await client.get(f"/api/v1/media/{photo}", headers=world.headers[who])).status_code == 200
        # 乙 was offered the task and may still open it, but the photo of someone's door is not for them
        other = await client.get(f"/api/v1/tasks/{task_id}", headers=hb)
        assert other.status_code == 200 and other.json()["photo_url"] is None
        assert (await client.get(f"/api/v1/media/{photo}", headers=hb)).status_code == 404
        for who in ("neighbour", "grid_worker_other"):
            assert (await client.get(f"/api/v1/media/{photo}", headers=world.headers[who])).status_code == 404
        # lists stay light: no signed URLs there
        mine = await client.get("/api/v1/tasks/mine", headers=world.headers["resident"])
        assert mine.status_code == 200 and all(t["photo_url"] is None for t in mine.json()["items"])

    async def test_delivering_without_a_photo_still_works(self, client, settings, bus, world):
        task_id, ha, _ = await held_help_task(client, settings, bus, world)
        resp = await deliver(client, task_id, ha, None)
        assert resp.status_code == 200 and resp.json()["photo_url"] is None

    @pytest.mark.parametrize("whose", ["someone_elses", "missing", "used_on_another_task"])
    async def test_a_photo_that_is_not_the_volunteers_unused_upload_is_refused_and_nothing_changes(
        self, client, settings, bus, world, whose
    ):
        task_id, ha, hb = await held_help_task(client, settings, bus, world)
        if whose == "someone_elses":
            photo = await upload(client, world.headers["resident"])
        elif whose == "missing":
            photo = 987654321
        else:
            photo = await upload(client, ha)
            await MediaFile.filter(id=photo).update(owner_type="task", owner_id=task_id + 1000)
        resp = await deliver(client, task_id, ha, photo)
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert set(body) == {"error", "message", "detail"} and body["error"] == "MediaNotUsable"
        assert body["message"] == "照片不存在、不是您上传的，或已被使用" and body["detail"] == {
            "ids": [photo]
        }
        task = await Task.get(id=task_id)
        assert (task.status, task.photo_media_id, task.delivered_at) == (TaskStatus.ACCEPTED, None, None)
        assert not await TaskEvent.filter(task_id=task_id, action="deliver").exists()
        if whose == "someone_elses":
            assert (await MediaFile.get(id=photo)).owner_type is None
        # the volunteer can still finish properly
        good = await upload(client, ha)
        assert (await deliver(client, task_id, ha, good)).status_code == 200

    async def test_one_photo_cannot_prove_two_deliveries(self, client, settings, bus, world):
        task_id, ha, _ = await held_help_task(client, settings, bus, world)
        photo = await upload(client, ha)
        assert (await deliver(client, task_id, ha, photo)).status_code == 200
        second = await _help(client, world, who="family", kind="shopping")
        await run_outbox(settings, bus)
        assert (await client.post(f"/api/v1/tasks/{second}/accept", headers=ha)).status_code == 200
        again = await deliver(client, second, ha, photo)
        assert again.status_code == 422 and again.json()["error"] == "MediaNotUsable"
        assert (await Task.get(id=second)).status == TaskStatus.ACCEPTED


class TestPickUpIsTold:
    async def test_the_volunteer_and_the_household_hear_of_the_pick_up(self, client, settings, bus, world):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        hv = await auth_headers(settings, v)
        task_id = await _delivery(client, world)
        await run_outbox(settings, bus)
        assert (await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hv)).status_code == 200
        assert not await InboxItem.filter(kind__in=("tasks.handed_over", "tasks.picked_up")).exists()
        resp = await client.post(f"/api/v1/tasks/{task_id}/pickup", headers=world.headers["staff"])
        assert resp.status_code == 200 and resp.json()["status"] == "picked_up"
        told = await client.get("/api/v1/notifications", headers=hv)
        assert told.status_code == 200, told.text
        [item] = [i for i in told.json()["items"] if i["kind"] == "tasks.handed_over"]
        assert task_id == item["data"]["task_id"] and "取货已确认" in item["title"]
        for who in ("resident", "family"):
            user = world[who]
            assert await InboxItem.filter(user_id=user.id, kind="tasks.picked_up").count() == 1, who
        assert not await InboxItem.filter(user_id=v.id, kind="tasks.picked_up").exists()
        assert not await InboxItem.filter(user_id=world["resident"].id, kind="tasks.handed_over").exists()

    async def test_a_refused_pick_up_tells_nobody(self, client, settings, bus, world):
        v = await volunteer(settings, "甲", NEAR, community=world.community)
        hv = await auth_headers(settings, v)
        task_id = await _delivery(client, world)
        await run_outbox(settings, bus)
        await client.post(f"/api/v1/tasks/{task_id}/accept", headers=hv)
        assert (
            await client.post(f"/api/v1/tasks/{task_id}/pickup", headers=world.headers["staff"])
        ).status_code == 200
        again = await client.post(f"/api/v1/tasks/{task_id}/pickup", headers=world.headers["staff"])
        assert again.status_code == 409
        assert await InboxItem.filter(user_id=v.id, kind="tasks.handed_over").count() == 1
