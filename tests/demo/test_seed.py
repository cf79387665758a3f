"""Demo data: a street like 土门墩街道, every role represented, and a second run changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from backend.demo.seed import seed
from backend.models.org import Department, Household, OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from tests.conftest import TEST_SECRET


class TestSeed:
    async def test_builds_the_street_and_is_idempotent(self, database):
        first = await seed()
        counts = {
            "units": await OrgUnit.all().count(), "households": await Household.all().count(),
            "users": await User.all().count(), "grants": await RoleGrant.all().count(),
        }
        second = await seed()
        assert counts == {
            "units": await OrgUnit.all().count(), "households": await Household.all().count(),
            "users": await User.all().count(), "grants": await RoleGrant.all().count(),
        }
        assert (first.communities, first.grids, first.compounds) == (5, 35, 37)
        assert first.buildings > 100 and first.households > 2000
        assert 300 <= first.users <= 1000
        assert await Department.all().count() >= 5
        assert first.accounts == second.accounts

    async def test_every_role_has_a_demo_account(self, database):
        summary = await seed()
        labels = {a.role_label for a in summary.accounts}
        assert {r.label for r in Role} <= labels
        worker = await User.get(is_demo=True, grants__role=Role.GRID_WORKER)
        grid = await OrgUnit.get(id=(await RoleGrant.get(user_id=worker.id)).org_unit_id)
        assert grid.level == OrgLevel.GRID and grid.name == "第1网格"


class TestCommandLine:
    def test_migrate_then_seed_on_a_fresh_database_prints_the_accounts(self, tmp_path):
        env = {**os.environ, "JINLIN_ENV": "development", "JINLIN_SECRET_KEY": TEST_SECRET,
               "JINLIN_DATABASE_URL": f"sqlite://{tmp_path}/fresh.sqlite3", "COLUMNS": "200"}
        migrate = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], env=env,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        assert "core.0001_initial" in migrate.stdout
        seeded = subprocess.run([sys.executable, "-m", "backend.cli", "seed-demo"], env=env,
                                capture_output=True, text=True, timeout=300)
        assert seeded.returncode == 0, seeded.stderr
        assert "演示账号" in seeded.stdout and "网格员" in seeded.stdout and "jinlin2026" in seeded.stdout
        again = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], env=env,
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "已应用" not in again.stdout

    def test_seed_demo_refuses_production(self, tmp_path):
        env = {**os.environ, "JINLIN_ENV": "production", "JINLIN_SECRET_KEY": "p" * 48,
               "JINLIN_DATABASE_URL": f"sqlite://{tmp_path}/prod.sqlite3"}
        result = subprocess.run([sys.executable, "-m", "backend.cli", "seed-demo"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "生产环境" in result.stderr
