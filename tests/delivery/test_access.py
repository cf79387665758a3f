"""Role × scope on every route of the delivery domains, bad input in the one error shape with nothing written,
and the merge of a placeholder account."""

from __future__ import annotations

import pytest

from backend.models.store import Order
from backend.models.tasks import Task
from backend.users.merge import run_merge_hooks
from tests.delivery.conftest import CENTER, run_outbox

# (method, path template, body, {who: expected status}); {store}, {item}, {order}, {task} are filled in.
MATRIX = [
    ("GET", "/api/v1/store/stores", None, {"resident": 200, "outsider": 200, "nobody": 200}),
    (
        "GET",
        "/api/v1/store/stores/{store}/items",
        None,
        {
            "resident": 200,
            "outsider": 404,
            "grid_worker": 200,
            "staff_other": 404,
            "street": 200,
            "admin": 200,
        },
    ),
    (
        "POST",
        "/api/v1/store/stores/{store}/items",
        {"name": "面粉", "category": "粮油", "unit": "袋", "price_points": 3},
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 201},
    ),
    (
        "PATCH",
        "/api/v1/store/items/{item}",
        {"price_points": 11},
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 200, "street": 200},
    ),
    (
        "POST",
        "/api/v1/store/items/{item}/movements",
        {"kind": "purchase", "qty": 1},
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 201},
    ),
    (
        "GET",
        "/api/v1/store/items/{item}/movements",
        None,
        {"resident": 403, "staff_other": 404, "staff": 200},
    ),
    (
        "POST",
        "/api/v1/store/stores/{store}/stocktakes",
        {"lines": [{"item_id": 0, "counted": 1}]},
        {"resident": 403, "staff_other": 404},
    ),
    ("GET", "/api/v1/store/low-stock", None, {"resident": 403, "grid_worker": 403, "staff": 200}),
    ("GET", "/api/v1/store/orders", None, {"resident": 403, "grid_worker": 403, "staff": 200}),
    (
        "GET",
        "/api/v1/store/orders/{order}",
        None,
        {
            "resident": 200,
            "family": 200,
            "neighbour": 404,
            "outsider": 404,
            "grid_worker": 200,
            "grid_worker_other": 404,
            "staff_other": 404,
            "street": 200,
        },
    ),
    (
        "POST",
        "/api/v1/store/orders/{order}/handover",
        None,
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 200},
    ),
    (
        "GET",
        "/api/v1/tasks/{task}",
        None,
        {
            "resident": 200,
            "family": 200,
            "neighbour": 404,
            "grid_worker": 200,
            "grid_worker_other": 404,
            "staff_other": 404,
        },
    ),
    ("GET", "/api/v1/tasks/{task}/history", None, {"resident": 200, "neighbour": 404, "staff": 200}),
    ("GET", "/api/v1/tasks", None, {"resident": 403, "grid_worker": 200, "staff": 200}),
    ("POST", "/api/v1/tasks/{task}/accept", None, {"resident": 404, "staff": 404}),
    ("POST", "/api/v1/tasks/{task}/pickup", None, {"resident": 403, "grid_worker": 403, "staff_other": 404}),
    (
        "POST",
        "/api/v1/tasks/{task}/confirm",
        None,
        {"neighbour": 404, "grid_worker_other": 404, "staff_other": 404},
    ),
    ("POST", "/api/v1/tasks/{task}/offers", {"volunteer_id": 1}, {"resident": 403, "staff_other": 404}),
    ("GET", "/api/v1/tasks/hall", None, {"resident": 409, "staff": 409}),
    (
        "PUT",
        "/api/v1/tasks/help-kinds",
        {"community_id": 0, "kinds": [{"code": "walk", "name": "陪散步"}]},
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 200},
    ),
    ("GET", "/api/v1/volunteers", None, {"resident": 403, "grid_worker": 200, "staff": 200}),
    ("GET", "/api/v1/volunteers/teams", None, {"resident": 403, "grid_worker": 200}),
    (
        "POST",
        "/api/v1/volunteers/teams",
        {"community_id": 0, "name": "红色物业队"},
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 201},
    ),
    (
        "POST",
        "/api/v1/volunteers/activities",
        {
            "community_id": 0,
            "title": "义诊",
            "starts_at": "2030-01-01T09:00:00+08:00",
            "ends_at": "2030-01-01T11:00:00+08:00",
            "capacity": 5,
            "credit_minutes": 60,
        },
        {"resident": 403, "grid_worker": 403, "staff_other": 404, "staff": 201},
    ),
    ("GET", "/api/v1/volunteers/dual-registrations", None, {"resident": 403, "staff": 200}),
    ("GET", "/api/v1/volunteers/me", None, {"resident": 404}),
]


@pytest.fixture
async def objects(client, settings, bus, world):  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/v1/store/orders",
        headers=world.headers["resident"],
        json={
            "store_id": world.store.id,
            "fulfilment": "pickup",
            "lines": [{"item_id": world.items["oil"].id, "qty": 1}],
        },
    )
    help_ = await client.post(
        "/api/v1/tasks/help", headers=world.headers["resident"], json={"help_kind": "visit"}
    )
    await run_outbox(settings, bus)
    return {
        "store": world.store.id,
        "item": world.items["rice"].id,
        "order": resp.json()["id"],
        "task": help_.json()["id"],
    }


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_role_and_scope(client, world, objects, method, path, body, expected):  # type: ignore[no-untyped-def]
    url = path.format(**objects)
    if isinstance(body, dict) and body.get("community_id") == 0:
        body = {**body, "community_id": world.community.id}
    for who, status in expected.items():
        resp = await client.request(method, url, json=body, headers=world.headers[who])
        assert resp.status_code == status, (who, resp.status_code, resp.text)
        if status >= 400:
            assert set(resp.json()) == {"error", "message", "detail"}, resp.json()
    anonymous = await client.request(method, url, json=body)
    assert anonymous.status_code == 401


BAD = [
    ("/api/v1/store/orders", {"store_id": 1, "fulfilment": "drone", "lines": [{"item_id": 1, "qty": 1}]}),
    ("/api/v1/store/orders", {"store_id": 1, "fulfilment": "pickup", "lines": []}),
    ("/api/v1/store/orders", {"store_id": 1, "fulfilment": "pickup", "lines": [{"item_id": 1, "qty": 0}]}),
    (
        "/api/v1/store/orders",
        {
            "store_id": 1,
            "fulfilment": "pickup",
            "lines": [{"item_id": 1, "qty": 1}, {"item_id": 1, "qty": 2}],
        },
    ),
    ("/api/v1/tasks/help", {"help_kind": "Visit!"}),
    ("/api/v1/tasks/help", {"help_kind": "visit", "lat": 91, "lng": 0}),
    ("/api/v1/tasks/help", {"help_kind": "visit", "extra": 1}),
    ("/api/v1/volunteers/me", {"real_name": "张", "id_number": "1", "community_id": 1}),
]


@pytest.mark.parametrize("path,body", BAD)
async def test_bad_input_is_422_in_the_error_shape_and_writes_nothing(client, world, path, body):  # type: ignore[no-untyped-def]
    resp = await client.post(path, json=body, headers=world.headers["resident"])
    assert resp.status_code == 422 and resp.json()["error"] == "ValidationFailed" and resp.json()["message"]
    assert await Order.all().count() == 0 and await Task.all().count() == 0


async def test_unknown_help_kind_and_no_location_are_4xx(client, world):
    resp = await client.post(
        "/api/v1/tasks/help", json={"help_kind": "karaoke"}, headers=world.headers["resident"]
    )
    assert resp.status_code == 400 and resp.json()["error"] == "UnknownHelpKind"
    assert await Task.all().count() == 0


async def test_merging_a_placeholder_moves_its_orders_and_tasks(client, settings, bus, world):
    resp = await client.post(
        "/api/v1/store/orders",
        headers=world.headers["resident"],
        json={
            "store_id": world.store.id,
            "fulfilment": "pickup",
            "lines": [{"item_id": world.items["oil"].id, "qty": 1}],
        },
    )
    await client.post(
        "/api/v1/tasks/help",
        headers=world.headers["resident"],
        json={"help_kind": "visit", "lat": CENTER[0], "lng": CENTER[1]},
    )
    import backend.tasks.fulfilment  # noqa: F401 - registers the hook

    await run_merge_hooks(world["resident"].id, world["neighbour"].id)
    assert (await Order.get(id=resp.json()["id"])).resident_id == world["neighbour"].id
    assert await Task.filter(requester_id=world["neighbour"].id).count() == 1
