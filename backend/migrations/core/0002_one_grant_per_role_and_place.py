"""One grant per (user, role, unit, department), also when the unit or the department is empty.

``role_grant`` had ``UNIQUE (user_id, role, org_unit_id, department_id)``, but SQL treats NULLs as distinct, and
every grant leaves one of the two columns NULL: the key never refused a duplicate, so approving a volunteer who
already held the role gave them the same grant twice (the demo data showed "志愿者 · 土门墩社区；志愿者 · 土门墩社区").
This removes duplicates (keeping the oldest) and adds a unique index over ``COALESCE``d columns, which both
PostgreSQL and SQLite enforce; ``INSERT … ON CONFLICT DO NOTHING`` and ``bulk_create(ignore_conflicts=True)``
now skip a repeated grant.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

DEDUPE = """
DELETE FROM role_grant WHERE id NOT IN (
    SELECT MIN(id) FROM role_grant GROUP BY user_id, role, COALESCE(org_unit_id, 0), COALESCE(department_id, 0)
)
"""
INDEX = """
CREATE UNIQUE INDEX IF NOT EXISTS uq_role_grant_place
    ON role_grant (user_id, role, COALESCE(org_unit_id, 0), COALESCE(department_id, 0))
"""
DROP = "DROP INDEX IF EXISTS uq_role_grant_place"


async def _up(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for statement in (DEDUPE, INDEX):
        await _run(schema_editor, statement)


async def _down(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, DROP)


async def _run(schema_editor, sql: str) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(sql.strip() + ";")
    else:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [ops.RunPython(_up, _down)]
