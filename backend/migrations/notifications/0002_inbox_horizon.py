"""The inbox horizon instead of per-user inbox locks (docs/adr/0020).

Drops ``inbox_state`` (the rows every writer used to lock) and ``inbox_item.prev_id`` (the chain those locks
made possible), indexes ``inbox_item`` by event (the push handler reads an event's items), and, on PostgreSQL,
adds the two functions of the horizon:

- ``inbox_hold()``: called by the statement that writes an event's inbox rows, *before* their ids are drawn.
  It takes a shared transaction-level advisory lock whose key is the id sequence's current position, in a
  namespace of its own (0x4A4C4E << 40). Shared locks never wait for each other: writers do not serialise.
- ``inbox_horizon()``: the highest id H such that every inbox id ≤ H is final (committed, or rolled back and
  never to appear). It reads the sequence position first, then the lowest position still held in
  ``pg_locks``, and returns the smaller. Call it in its own statement and read the rows afterwards (a later
  statement, a later snapshot). The order of the two reads matters; see the ADR for the argument.

SQLite needs neither: one writer at a time, so ids already grow in commit order.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


HOLD = r"""
CREATE OR REPLACE FUNCTION inbox_hold() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    position bigint;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO position FROM inbox_item_id_seq;
    PERFORM pg_advisory_xact_lock_shared((4869198::bigint << 40) + position);
    RETURN position;
END
$$
"""

HORIZON = r"""
CREATE OR REPLACE FUNCTION inbox_horizon() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    allocated bigint;
    held bigint;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO allocated FROM inbox_item_id_seq;
    SELECT min(((l.classid::bigint & 255) << 32) | l.objid::bigint) INTO held
      FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND (l.classid::bigint >> 8) = 4869198
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
    RETURN LEAST(allocated, held);
END
$$
"""

DROP = "DROP FUNCTION IF EXISTS inbox_horizon(); DROP FUNCTION IF EXISTS inbox_hold()"


async def _create(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, HOLD)
    await _run(schema_editor, HORIZON)


async def _drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, DROP)


async def _run(schema_editor, sql: str) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(sql.strip() + ";")
    else:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('notifications', '0001_initial')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='InboxItem',
            options={'table': 'inbox_item', 'app': 'notifications', 'unique_together': (('user_id', 'event_id'),), 'indexes': [Index(fields=['user_id', 'id']), Index(fields=['user_id', 'read_at']), Index(fields=['silent', 'digest_id']), Index(fields=['event_id', 'id'])], 'pk_attr': 'id', 'table_description': "One recipient's copy of an event: every id at or below the inbox horizon is final (docs/adr/0020)."},
        ),
        ops.RemoveField(model_name='InboxItem', name='prev_id'),
        ops.AddIndex(
            model_name='InboxItem',
            index=Index(fields=['event_id', 'id']),
        ),
        ops.DeleteModel(name='InboxState'),
        ops.RunPython(_create, _drop),
    ]
