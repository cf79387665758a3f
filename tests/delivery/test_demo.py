"""The demo data of the 爱心超市 and the 服务快递站 (backend/demo/delivery.py): stores with a catalogue and
donated stock, volunteers with profiles near their community, a 帮扶对子 per community, open help tasks and
one delivery on its way, all reachable through the API as the demo accounts; and ``jinlin seed-demo`` run
twice changes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tortoise import Tortoise

from backend.demo.seed import seed
from backend.models.store import MovementKind, Order, OrderStatus, StockMovement, Store, StoreItem
from backend.models.tasks import OfferStatus, Task, TaskKind, TaskOffer, TaskStatus
from backend.models.user import Role, RoleGrant, User
from backend.models.volunteers import Pairing, VolunteerProfile, VolunteerStatus
from tests.builders import auth_headers
from tests.conftest import TEST_SECRET


async def _delivery_rows() -> dict[str, list[dict]]:
    """Every row of every table of the delivery app."""
    return {
        model._meta.db_table: await model.all().order_by("id").values()
        for model in Tortoise.apps["delivery"].values()  # type: ignore[index]
    }


class TestDemoData:
    async def test_a_second_seed_changes_nothing(self, database):
        await seed()
        first = await _delivery_rows()
        await seed()
        assert await _delivery_rows() == first
        assert len(first["store"]) == 5 and len(first["volunteer_profile"]) == 60

    async def test_stores_have_a_catalogue_and_donated_stock(self, database):
        await seed()
        for store in await Store.all():
            items = await StoreItem.filter(store_id=store.id)
            assert len(items) >= 10 and all(i.stock + i.held > 0 for i in items), store.name
            for item in items:  # what is on hand is the sum of what was recorded
                moved = await StockMovement.filter(item_id=item.id).values_list("qty", flat=True)
                assert sum(moved) == item.stock + item.held, item.name
        donations = await StockMovement.filter(kind=MovementKind.DONATION)
        assert donations and all(m.donor_name and m.donor_kind and m.donated_on for m in donations)
        assert {m.donor_kind for m in donations} == {"unit", "organisation", "person"}
        assert await StoreItem.filter(stock__lte=0).count() == 0
        assert any(i.stock <= i.low_stock_at for i in await StoreItem.filter(name="老花镜"))

    async def test_volunteers_matching_and_one_delivery_on_its_way(self, database):
        await seed()
        profiles = await VolunteerProfile.all()
        assert profiles and all(p.status == VolunteerStatus.ACTIVE and p.skills for p in profiles)
        assert {len(p.availability) for p in profiles} == {168}
        assert len({p.availability for p in profiles}) > 1  # not everyone keeps the same hours
        assert await Pairing.filter(active_key__not_isnull=True).count() == 5
        help_tasks = await Task.filter(kind=TaskKind.HELP, status=TaskStatus.OFFERED)
        assert len(help_tasks) >= 2
        assert all([await TaskOffer.exists(task_id=t.id, status=OfferStatus.OPEN) for t in help_tasks])
        delivery = await Task.get(kind=TaskKind.DELIVERY)
        assert delivery.status == TaskStatus.PICKED_UP
        assert (await Order.get(id=delivery.order_id)).status == OrderStatus.HANDED_OVER
        assert (await User.get(id=delivery.volunteer_id)).is_demo

    async def test_the_demo_accounts_see_a_full_catalogue_and_task_hall(self, client, settings, database):
        await seed()
        resident = await User.filter(is_demo=True, grants__role=Role.RESIDENT).order_by("id").first()
        assert resident is not None
        headers = await auth_headers(settings, resident)
        stores = await client.get("/api/v1/store/stores", headers=headers)
        assert stores.status_code == 200 and len(stores.json()) == 1
        catalogue = await client.get(f"/api/v1/store/stores/{stores.json()[0]['id']}/items", headers=headers)
        assert catalogue.status_code == 200 and len(catalogue.json()) >= 10
        volunteer_ids = await RoleGrant.filter(role=Role.VOLUNTEER).values_list("user_id", flat=True)
        demo_volunteers = await User.filter(is_demo=True, id__in=volunteer_ids).order_by("id")
        assert len(demo_volunteers) == 2
        for volunteer in demo_volunteers:  # each has a task waiting in the hall
            hall = await client.get("/api/v1/tasks/hall", headers=await auth_headers(settings, volunteer))
            assert hall.status_code == 200 and len(hall.json()) >= 1, hall.text
        holding = await client.get(
            "/api/v1/tasks/assigned", headers=await auth_headers(settings, demo_volunteers[1])
        )
        assert [t["status"] for t in holding.json()] == [
            "picked_up"
        ]  # and the second one a delivery on its way


class TestCommandLine:
    def test_seed_demo_twice_changes_nothing(self, tmp_path):
        path = tmp_path / "demo.sqlite3"
        env = {
            **os.environ,
            "JINLIN_ENV": "development",
            "JINLIN_SECRET_KEY": TEST_SECRET,
            "JINLIN_DATABASE_URL": f"sqlite://{path}",
            "COLUMNS": "200",
        }
        for command in ("migrate", "seed-demo"):
            done = subprocess.run(
                [sys.executable, "-m", "backend.cli", command],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
        first = _dump(path)
        again = subprocess.run(
            [sys.executable, "-m", "backend.cli", "seed-demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr
        assert _dump(path) == first
        assert len(first["store_item"]) >= 50 and first["task"]


def _dump(path) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    tables = [
        "store",
        "store_item",
        "stock_movement",
        "store_order",
        "store_order_line",
        "store_order_event",
        "task",
        "task_offer",
        "task_assignment",
        "task_event",
        "volunteer_profile",
        "volunteer_team",
        "volunteer_team_member",
        "volunteer_dual_registration",
        "volunteer_pairing",
    ]
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in tables}  # noqa: S608
