"""The resident ledger's sensitive fields encrypted at rest (docs/adr/0022, backend/visits/sealing.py).

New ``*_enc`` columns; existing rows are sealed into them (the profile's and members' ID numbers, phones,
health and disability, and the old/new values of sensitive history rows, whose clear columns are emptied);
then the clear columns go. Downgrading decrypts back. Both need the key the app runs with
(``backend.core.migrate.migration_settings``).
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from backend.core.migrate import migration_settings
from backend.visits import sealing


def _sql(client, sql: str) -> str:  # type: ignore[no-untyped-def]
    """Our statements use ``?``; asyncpg wants ``$1, $2…``."""
    if client.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


TABLES = (
    (sealing.PROFILE_TABLE, sealing.PROFILE_SEALED),
    (sealing.MEMBER_TABLE, sealing.MEMBER_SEALED),
)


async def _seal(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.collect_sql:
        return
    client, settings = schema_editor.client, migration_settings()
    for table, fields_ in TABLES:
        rows = await client.execute_query_dict(f"SELECT id, household_id, {', '.join(fields_)} FROM {table}")
        for row in rows:
            values = {f: row[f] for f in fields_ if row[f] is not None}
            if not values:
                continue
            sealed = [
                sealing.seal(settings, v, table=table, household_id=row["household_id"], field=f)
                for f, v in values.items()
            ]
            sets = ", ".join(f"{sealing.column(f)} = ?" for f in values)
            await client.execute_query(
                _sql(client, f"UPDATE {table} SET {sets} WHERE id = ?"), [*sealed, row["id"]]
            )
    rows = await client.execute_query_dict(
        "SELECT id, household_id, member_id, field, old_value, new_value "
        "FROM visit_household_change WHERE sensitive"
    )
    for row in rows:
        old, new = (
            sealing.seal(
                settings,
                row[f"{side}_value"],
                **sealing.change_binding(row["household_id"], row["member_id"], row["field"], side),
            )
            for side in ("old", "new")
        )
        await client.execute_query(
            _sql(
                client,
                "UPDATE visit_household_change SET old_enc = ?, new_enc = ?, old_value = NULL, "
                "new_value = NULL WHERE id = ?",
            ),
            [old, new, row["id"]],
        )


async def _unseal(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.collect_sql:
        return
    client, settings = schema_editor.client, migration_settings()
    for table, fields_ in TABLES:
        columns = ", ".join(sealing.column(f) for f in fields_)
        for row in await client.execute_query_dict(f"SELECT id, household_id, {columns} FROM {table}"):
            clear = [
                sealing.unseal(
                    settings, row[sealing.column(f)], table=table, household_id=row["household_id"], field=f
                )
                for f in fields_
            ]
            sets = ", ".join(f"{f} = ?" for f in fields_)
            await client.execute_query(
                _sql(client, f"UPDATE {table} SET {sets} WHERE id = ?"), [*clear, row["id"]]
            )
    rows = await client.execute_query_dict(
        "SELECT id, household_id, member_id, field, old_enc, new_enc "
        "FROM visit_household_change WHERE sensitive"
    )
    for row in rows:
        old, new = (
            sealing.unseal(
                settings,
                row[f"{side}_enc"],
                **sealing.change_binding(row["household_id"], row["member_id"], row["field"], side),
            )
            for side in ("old", "new")
        )
        await client.execute_query(
            _sql(
                client,
                "UPDATE visit_household_change SET old_value = ?, new_value = ?, old_enc = NULL, "
                "new_enc = NULL WHERE id = ?",
            ),
            [old, new, row["id"]],
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("visits", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="HouseholdChange",
            name="new_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdChange",
            name="old_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdMember",
            name="disability_status_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdMember",
            name="health_status_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdMember",
            name="id_number_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdMember",
            name="phone_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdProfile",
            name="contact_phone_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdProfile",
            name="disability_status_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdProfile",
            name="head_id_number_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="HouseholdProfile",
            name="health_status_enc",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.RunPython(_seal, _unseal),
        ops.RemoveField(model_name="HouseholdMember", name="disability_status"),
        ops.RemoveField(model_name="HouseholdMember", name="health_status"),
        ops.RemoveField(model_name="HouseholdMember", name="id_number"),
        ops.RemoveField(model_name="HouseholdMember", name="phone"),
        ops.AlterModelOptions(
            name="HouseholdProfile",
            options={
                "table": "visit_household_profile",
                "app": "visits",
                "pk_attr": "id",
                "table_description": "The resident ledger (台账) of a household as visitors keep it.",
            },
        ),
        ops.RemoveField(model_name="HouseholdProfile", name="contact_phone"),
        ops.RemoveField(model_name="HouseholdProfile", name="disability_status"),
        ops.RemoveField(model_name="HouseholdProfile", name="head_id_number"),
        ops.RemoveField(model_name="HouseholdProfile", name="health_status"),
    ]
