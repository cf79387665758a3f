from backend.models.tasks import Task, TaskOffer, TaskStatus
from tests.delivery.conftest import CENTER, run_outbox, volunteer


async def test_order_for_delivery_offers_nearby_volunteers(client, settings, bus, world):
    v = await volunteer(settings, "志愿者甲", (CENTER[0] + 0.001, CENTER[1]), community=world.community)
    resp = await client.post(
        "/api/v1/store/orders",
        json={
            "store_id": world.store.id,
            "fulfilment": "delivery",
            "lines": [{"item_id": world.items["rice"].id, "qty": 1}],
        },
        headers=world.headers["resident"],
    )
    assert resp.status_code == 201, resp.text
    task_id = resp.json()["task_id"]
    await run_outbox(settings, bus)
    assert await TaskOffer.filter(task_id=task_id, volunteer_id=v.id).exists()
    from tests.builders import auth_headers

    h = await auth_headers(settings, v)
    hall = await client.get("/api/v1/tasks/hall", headers=h)
    assert hall.status_code == 200, hall.text
    assert [t["id"] for t in hall.json()] == [task_id]
    acc = await client.post(f"/api/v1/tasks/{task_id}/accept", headers=h)
    assert acc.status_code == 200, acc.text
    assert (await Task.get(id=task_id)).status == TaskStatus.ACCEPTED
