from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.models.ledger import AwardStatus, Currency, OwnerKind, TransferKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint


# --- Added by hand (see docs/adr/0010): Tortoise's autodetector writes everything above. ------------------------
#
# 1. SQLite: Tortoise 1.1 adds a CHECK constraint by rebuilding the table (CREATE new, copy, DROP old, RENAME),
#    and the rebuild loses the table's indexes and its inline UNIQUE (a, b) constraints (unique_together).
#    ``_stash_sqlite_indexes`` records the index DDL before the AddConstraint operations (unique_together as named
#    unique indexes) and ``_restore_sqlite_indexes`` replays it after them, under the same names, so that later
#    migrations can still find them.
# 2. Entries and transfers are append-only in the database itself: UPDATE and DELETE raise (PostgreSQL: a
#    trigger function; SQLite: RAISE(ABORT) triggers). On PostgreSQL a deferred constraint trigger also refuses
#    to commit a transfer whose entries do not sum to zero per currency. TRUNCATE (a table-owner operation, like
#    DROP) is not guarded. The SQL is frozen here, per dialect, rather than imported from application code.
# Any later migration that rebuilds ledger_entry or ledger_transfer on SQLite drops their triggers: recreate them.

LEDGER_TABLES = ("ledger_account", "ledger_entry", "ledger_gift_quota", "ledger_pending_award", "ledger_rules",
                 "ledger_transfer")

POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only: % on % refused (post a reversal instead)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$""",
    """CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entry WHERE transfer_id = NEW.transfer_id
               GROUP BY currency HAVING SUM(amount) <> 0) THEN
        RAISE EXCEPTION 'ledger transfer % does not sum to zero per currency', NEW.transfer_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()""",
]
POSTGRES_GUARDS_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry",
    "DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry",
    "DROP TRIGGER IF EXISTS ledger_transfer_append_only ON ledger_transfer",
    "DROP FUNCTION IF EXISTS ledger_check_balanced()",
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
]
SQLITE_GUARDS = [
    f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {op} on {table} refused (post a reversal instead)'); END"""
    for table in ("ledger_entry", "ledger_transfer") for op in ("UPDATE", "DELETE")
]
SQLITE_GUARDS_DOWN = [
    f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}"
    for table in ("ledger_entry", "ledger_transfer") for op in ("UPDATE", "DELETE")
]


def _dialect(schema_editor) -> str:  # type: ignore[no-untyped-def]
    return schema_editor.client.capabilities.dialect


async def _run_each(schema_editor, statements: list[str]) -> None:  # type: ignore[no-untyped-def]
    for sql in statements:
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(sql + ";")
        elif _dialect(schema_editor) == "postgres":
            await schema_editor.client.execute_script(sql)
        else:  # one statement at a time: sqlite3's executescript would COMMIT the migration's transaction
            await schema_editor.client.execute_query(sql)


async def _stash_sqlite_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    """Remember the ledger tables' indexes, and their inline UNIQUE (…) constraints as unique indexes."""
    import re

    if _dialect(schema_editor) != "sqlite" or schema_editor.collect_sql:
        return
    marks = ", ".join("?" for _ in LEDGER_TABLES)
    rows = await schema_editor.client.execute_query_dict(
        f"SELECT type, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'table') AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        list(LEDGER_TABLES),
    )
    stash = []
    for row in rows:
        if row["type"] == "index":
            stash.append(re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX IF NOT EXISTS ", row["sql"], count=1))
            continue
        for name, columns in re.findall(r'CONSTRAINT "(\w+)" UNIQUE \(([^)]*)\)', row["sql"]):
            stash.append(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{row["tbl_name"]}" ({columns})')
    schema_editor.ledger_index_sql = stash


async def _restore_sqlite_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for sql in getattr(schema_editor, "ledger_index_sql", []):
        await schema_editor.client.execute_query(sql)


async def _create_guards(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    statements = {"postgres": POSTGRES_GUARDS, "sqlite": SQLITE_GUARDS}.get(_dialect(schema_editor))
    if statements is None:
        raise RuntimeError(f"ledger guards are written for postgres and sqlite, not {_dialect(schema_editor)}")
    await _run_each(schema_editor, statements)


async def _drop_guards(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run_each(schema_editor, {"postgres": POSTGRES_GUARDS_DOWN, "sqlite": SQLITE_GUARDS_DOWN}[_dialect(schema_editor)])


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('street_id', fields.BigIntField(null=True, db_index=True)),
                ('community_id', fields.BigIntField(null=True, db_index=True)),
                ('grid_id', fields.BigIntField(null=True, db_index=True)),
                ('compound_id', fields.BigIntField(null=True)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner_kind', fields.CharEnumField(description='USER: user\nISSUER: issuer\nSTORE: store\nESCROW: escrow', enum_type=OwnerKind, max_length=8)),
                ('owner_id', fields.BigIntField()),
                ('currency', fields.CharEnumField(description='HOUR: hour\nPOINT: point', enum_type=Currency, max_length=8)),
                ('balance', fields.BigIntField(default=0, db_default=0)),
                ('min_balance', fields.BigIntField(null=True, default=0)),
                ('earned', fields.BigIntField(default=0, db_default=0)),
                ('name', fields.CharField(null=True, max_length=64)),
                ('show_on_leaderboard', fields.BooleanField(default=True, db_default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_account', 'app': 'ledger', 'unique_together': (('owner_kind', 'owner_id', 'currency'),), 'pk_attr': 'id', 'table_description': "One owner's balance in one currency. Org-owned accounts carry their community's ancestor ids (for"},
            bases=['Model', 'ScopedColumns'],
        ),
        ops.CreateModel(
            name='GiftQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('ledger.Account', source_field='account_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('used_minutes', fields.BigIntField(default=0, db_default=0)),
            ],
            options={'table': 'ledger_gift_quota', 'app': 'ledger', 'unique_together': (('account_id', 'year'),), 'pk_attr': 'id', 'table_description': 'Minutes an account has gifted to family in one year. The cap is a conditional UPDATE on this row.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PendingAward',
            fields=[
                ('street_id', fields.BigIntField(null=True, db_index=True)),
                ('community_id', fields.BigIntField(null=True, db_index=True)),
                ('grid_id', fields.BigIntField(null=True, db_index=True)),
                ('compound_id', fields.BigIntField(null=True)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient_id', fields.BigIntField(db_index=True)),
                ('currency', fields.CharEnumField(description='HOUR: hour\nPOINT: point', enum_type=Currency, max_length=8)),
                ('amount', fields.BigIntField()),
                ('reason', fields.CharField(max_length=200)),
                ('requested_by_id', fields.BigIntField()),
                ('idempotency_key', fields.CharField(null=True, unique=True, max_length=160)),
                ('status', fields.CharEnumField(default=AwardStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=AwardStatus, max_length=10)),
                ('decided_by_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.CharField(null=True, max_length=200)),
                ('transfer_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_pending_award', 'app': 'ledger', 'pk_attr': 'id', 'table_description': "A staff award above the community's threshold, waiting for a second staff member to approve it."},
            bases=['Model', 'ScopedColumns'],
        ),
        ops.CreateModel(
            name='Rules',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit_id', fields.BigIntField(unique=True)),
                ('delivery_base_minutes', fields.IntField()),
                ('delivery_minutes_per_km', fields.IntField()),
                ('help_base_minutes', fields.IntField()),
                ('help_minutes_per_km', fields.IntField()),
                ('max_minutes_per_task', fields.IntField()),
                ('points_per_hour', fields.IntField()),
                ('allowance_points', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('allowance_max_points', fields.IntField()),
                ('gift_yearly_cap_minutes', fields.IntField()),
                ('expiry_years', fields.IntField(null=True)),
                ('credit_limit_minutes', fields.IntField()),
                ('credit_limit_points', fields.IntField()),
                ('award_threshold_minutes', fields.IntField()),
                ('award_threshold_points', fields.IntField()),
                ('star_thresholds_hours', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_by_id', fields.BigIntField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'ledger_rules', 'app': 'ledger', 'pk_attr': 'id', 'table_description': "A community's rules as data (a community without a row uses the defaults in ``backend.ledger.rules``)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Transfer',
            fields=[
                ('street_id', fields.BigIntField(null=True, db_index=True)),
                ('community_id', fields.BigIntField(null=True, db_index=True)),
                ('grid_id', fields.BigIntField(null=True, db_index=True)),
                ('compound_id', fields.BigIntField(null=True)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='EARN_SERVICE: earn_service\nEARN_ACTIVITY: earn_activity\nAWARD: award\nALLOWANCE: allowance\nRESERVE: reserve\nRELEASE: release\nREDEEM_GOODS: redeem_goods\nPAY_SERVICE: pay_service\nGIFT_TO_FAMILY: gift_to_family\nEXPIRE: expire\nMERGE: merge\nREVERSAL: reversal', enum_type=TransferKind, max_length=16)),
                ('reason', fields.CharField(max_length=200)),
                ('actor_id', fields.BigIntField(null=True)),
                ('link_type', fields.CharField(null=True, max_length=16)),
                ('link_id', fields.CharField(null=True, max_length=64)),
                ('idempotency_key', fields.CharField(null=True, unique=True, max_length=160)),
                ('reverses', fields.OneToOneField('ledger.Transfer', source_field='reverses_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_transfer', 'app': 'ledger', 'indexes': [Index(fields=['link_type', 'link_id'])], 'pk_attr': 'id', 'table_description': 'An immutable movement between accounts. Its place (ancestor ids) is the community (and grid) it'},
            bases=['Model', 'ScopedColumns'],
        ),
        ops.CreateModel(
            name='Entry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('transfer', fields.ForeignKeyField('ledger.Transfer', source_field='transfer_id', db_index=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('ledger.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('currency', fields.CharEnumField(description='HOUR: hour\nPOINT: point', enum_type=Currency, max_length=8)),
                ('amount', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('earning', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_entry', 'app': 'ledger', 'indexes': [Index(fields=['account_id', 'id']), Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One leg of a transfer: never created or changed by itself.'},
            bases=['Model'],
        ),
        ops.RunPython(_stash_sqlite_indexes, ops.RunPython.noop),
        ops.AddConstraint(model_name='Account', constraint=CheckConstraint(check='min_balance IS NULL OR balance >= min_balance', name='ledger_account_floor')),
        ops.AddConstraint(model_name='Account', constraint=CheckConstraint(check='earned >= 0', name='ledger_account_earned_nonneg')),
        ops.AddConstraint(model_name='GiftQuota', constraint=CheckConstraint(check='used_minutes >= 0', name='ledger_gift_quota_nonneg')),
        ops.AddConstraint(model_name='PendingAward', constraint=CheckConstraint(check='amount > 0', name='ledger_pending_award_positive')),
        ops.AddConstraint(model_name='PendingAward', constraint=CheckConstraint(check="status <> 'approved' OR (decided_by_id IS NOT NULL AND decided_by_id <> requested_by_id)", name='ledger_pending_award_four_eyes')),
        ops.AddConstraint(model_name='Entry', constraint=CheckConstraint(check='amount <> 0', name='ledger_entry_nonzero')),
        ops.RunPython(_restore_sqlite_indexes, ops.RunPython.noop),
        ops.RunPython(_create_guards, _drop_guards),
    ]
