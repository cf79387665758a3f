"""Run by ``test_ledger_sealed.py`` in a process of its own (initialising Tortoise binds models process-wide):
migrate a fresh database to visits 0001, write a ledger in clear as the old code did, migrate to the newest,
print what the columns hold, migrate back to 0001 and print the clear values again. Prints one JSON line.

    python -m tests.visits.sealed_migration <database url> <secret key>
"""

from __future__ import annotations

import asyncio
import json
import sys

from tortoise import connections
from tortoise.transactions import in_transaction

from backend.config import Settings
from backend.core.db import tortoise_config
from backend.core.migrate import apply_migrations, migration_settings
from backend.visits import sealing

ID = "62010319900101000X"  # the same as tests/visits/test_resident_ledger.py
PROFILE = {
    "head_id_number": ID,
    "contact_phone": "13912345678",
    "health_status": "高血压，需定期服药",
    "disability_status": "肢体三级",
}
MEMBER = {"id_number": ID, "phone": "13800001111", "health_status": "糖尿病", "disability_status": None}


def _sql(dialect: str, sql: str) -> str:
    parts = sql.split("?")
    if dialect != "postgres":
        return sql
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


async def _rows(settings: Settings, url: str, sql: str) -> list[dict]:
    from tortoise.cli.cli import tortoise_cli_context

    async with tortoise_cli_context(tortoise_config(settings, url=url)):
        return await connections.get("default").execute_query_dict(sql)


async def _write_clear(settings: Settings, url: str) -> None:
    from tortoise.cli.cli import tortoise_cli_context

    async with tortoise_cli_context(tortoise_config(settings, url=url)), in_transaction("default") as conn:
        dialect = conn.capabilities.dialect
        now = "CURRENT_TIMESTAMP"
        await conn.execute_query(
            "INSERT INTO org_unit (id, level, name, sort_order, created_at, updated_at) "
            f"VALUES (7, 'building', '1号楼', 0, {now}, {now})"
        )
        await conn.execute_query(
            "INSERT INTO household (id, building_id, door_no, members_count, is_elderly, is_living_alone, "
            "is_disabled, is_low_income, is_hardship, created_at, updated_at) "
            f"VALUES (7, 7, '101', 1, false, false, false, false, false, {now}, {now})"
        )
        cols = ", ".join(PROFILE)
        await conn.execute_query(
            _sql(
                dialect,
                f"INSERT INTO visit_household_profile (household_id, {cols}, "
                f"version, updated_at) VALUES (7, ?, ?, ?, ?, 1, {now})",
            ),
            list(PROFILE.values()),
        )
        cols = ", ".join(MEMBER)
        await conn.execute_query(
            _sql(
                dialect,
                "INSERT INTO visit_household_member (household_id, name, "
                f"{cols}, living_here, version, created_at, updated_at) "
                f"VALUES (7, '王奶奶', ?, ?, ?, ?, ?, 1, {now}, {now})",
            ),
            [*MEMBER.values(), True],
        )
        for field, old, new, sensitive in (
            ("health_status", "健康", "高血压，需定期服药", True),
            ("people_living", "1", "2", False),
        ):
            sql = (
                "INSERT INTO visit_household_change (household_id, field, old_value, new_value, sensitive, "
                f"created_at) VALUES (7, ?, ?, ?, ?, {now})"
            )
            await conn.execute_query(_sql(dialect, sql), [field, old, new, sensitive])


async def main(url: str, secret: str) -> None:
    settings = Settings(_env_file=None, env="test", secret_key=secret, database_url=url)  # type: ignore[call-arg]
    out: dict = {}
    await apply_migrations(settings, target="visits.0001_initial")
    await _write_clear(settings, url)
    await apply_migrations(settings)
    out["profile"] = (await _rows(settings, url, "SELECT * FROM visit_household_profile"))[0]
    out["member"] = (await _rows(settings, url, "SELECT * FROM visit_household_member"))[0]
    out["changes"] = await _rows(settings, url, "SELECT * FROM visit_household_change ORDER BY id")
    token = sealing.seal.__module__  # the sealing code is importable by the migration
    assert token and migration_settings() is not None
    clear = {
        f: sealing.unseal(
            settings, out["profile"][sealing.column(f)], table=sealing.PROFILE_TABLE, household_id=7, field=f
        )
        for f in sealing.PROFILE_SEALED
    }
    out["unsealed_profile"] = clear
    await apply_migrations(settings, target="visits.0001_initial")
    out["back_profile"] = (await _rows(settings, url, "SELECT * FROM visit_household_profile"))[0]
    out["back_changes"] = await _rows(settings, url, "SELECT * FROM visit_household_change ORDER BY id")
    print(json.dumps(out, default=str, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
