from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.models.reports import Channel, Clock, DeliberationKind, DeliberationStatus, EvaluationKind, Level, RatingChannel, ReportStatus, WhistleStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint


# --- Added by hand: Tortoise's autodetector writes everything else. ---------------------------------------------
# On SQLite, Tortoise 1.1 adds a CHECK constraint by rebuilding the table, and the rebuild loses the table's
# indexes and its inline UNIQUE (a, b) constraints (the same defect the ledger's first migration works around).
# ``_stash_sqlite_indexes`` records them (unique_together as named unique indexes) before the AddConstraint
# operations and ``_restore_sqlite_indexes`` replays them after, so one rating per round stays unique there too.

CHECKED_TABLES = ("report_evaluation", "report_rating")


async def _stash_sqlite_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    import re

    if schema_editor.client.capabilities.dialect != "sqlite" or schema_editor.collect_sql:
        return
    rows = await schema_editor.client.execute_query_dict(
        "SELECT type, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'table') AND sql IS NOT NULL "
        "AND tbl_name IN (?, ?)",
        list(CHECKED_TABLES),
    )
    stash = []
    for row in rows:
        if row["type"] == "index":
            stash.append(re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX IF NOT EXISTS ", row["sql"], count=1))
            continue
        for name, columns in re.findall(r'CONSTRAINT "(\w+)" UNIQUE \(([^)]*)\)', row["sql"]):
            stash.append(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{row["tbl_name"]}" ({columns})')
    schema_editor.reports_index_sql = stash


async def _restore_sqlite_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for sql in getattr(schema_editor, "reports_index_sql", []):
        await schema_editor.client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='BoardSnapshot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit_id', fields.BigIntField()),
                ('month', fields.CharField(max_length=7)),
                ('summary', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rows', fields.IntField()),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_board', 'app': 'reports', 'unique_together': (('unit_id', 'month'),), 'pk_attr': 'id', 'table_description': "晒: a community's frozen monthly board (rates per grid and department), published once."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BoardEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('board', fields.ForeignKeyField('reports.BoardSnapshot', source_field='board_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('report_id', fields.BigIntField()),
                ('row', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'report_board_entry', 'app': 'reports', 'indexes': [Index(fields=['board_id', 'report_id'])], 'pk_attr': 'id', 'table_description': 'One anonymised report line of a frozen board (no names, phones or exact addresses).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('street_id', fields.BigIntField(null=True)),
                ('community_id', fields.BigIntField(null=True)),
                ('grid_id', fields.BigIntField(null=True)),
                ('compound_id', fields.BigIntField(null=True)),
                ('building_id', fields.BigIntField(null=True)),
                ('household_id', fields.BigIntField(null=True)),
                ('reporter', fields.ForeignKeyField('core.User', source_field='reporter_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('filed_by_id', fields.BigIntField(null=True)),
                ('category', fields.CharField(max_length=40)),
                ('category_top', fields.CharField(max_length=24)),
                ('description', fields.TextField(unique=False)),
                ('channel', fields.CharEnumField(description='APP: app\nPHONE: phone\nVISIT: visit\nWEATHER_STATION: weather_station\nHOTLINE: hotline', enum_type=Channel, max_length=16)),
                ('lat', fields.FloatField(null=True)),
                ('lng', fields.FloatField(null=True)),
                ('address', fields.CharField(null=True, max_length=200)),
                ('photo_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=ReportStatus.SUBMITTED, description='SUBMITTED: submitted\nACCEPTED: accepted\nNEED_INFO: need_info\nRESOLVED: resolved\nCLOSED: closed\nWITHDRAWN: withdrawn\nMERGED: merged', enum_type=ReportStatus, max_length=12)),
                ('level', fields.CharEnumField(description='GRID: grid\nCOMMUNITY: community\nSTREET: street', enum_type=Level, max_length=10)),
                ('assignee_id', fields.BigIntField(null=True)),
                ('version', fields.IntField(default=1, db_default=1)),
                ('clock', fields.CharEnumField(null=True, description='ACCEPT: accept\nRESOLVE: resolve\nCLOSE: close', enum_type=Clock, max_length=8)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paused_seconds', fields.IntField(null=True)),
                ('was_overdue', fields.BooleanField(default=False, db_default=False)),
                ('escalations', fields.IntField(default=0, db_default=0)),
                ('round', fields.IntField(default=0, db_default=0)),
                ('support_count', fields.IntField(default=0, db_default=0)),
                ('merged_into_id', fields.BigIntField(null=True)),
                ('response_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_note', fields.CharField(null=True, max_length=1000)),
                ('public_note', fields.CharField(null=True, max_length=100)),
                ('rating', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report', 'app': 'reports', 'indexes': [Index(fields=['grid_id', 'status', 'id']), Index(fields=['community_id', 'status', 'id']), Index(fields=['street_id', 'status', 'id']), Index(fields=['community_id', 'created_at']), Index(fields=['reporter_id', 'id']), Index(fields=['assignee_id', 'status']), Index(fields=['category', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One matter a resident reported. Carries the ancestor ids of the place it is about (scoping), the level'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Deliberation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='deliberations', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='RESIDENTS_COUNCIL: residents_council\nTWO_COMMITTEES: two_committees\nSTREET_COMMUNITY: street_community', enum_type=DeliberationKind, max_length=20)),
                ('topic', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(default=DeliberationStatus.OPEN, description='OPEN: open\nDECIDED: decided', enum_type=DeliberationStatus, max_length=10)),
                ('participants', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('opened_by_id', fields.BigIntField()),
                ('vote_options', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('vote_closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('minutes', fields.TextField(null=True, unique=False)),
                ('decision', fields.CharField(null=True, max_length=1000)),
                ('decided_by_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_deliberation', 'app': 'reports', 'pk_attr': 'id', 'table_description': '议: a deliberation on a report, with minutes, a decision and optionally a vote of households.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliberationVote',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('deliberation', fields.ForeignKeyField('reports.Deliberation', source_field='deliberation_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('household_id', fields.BigIntField()),
                ('user_id', fields.BigIntField()),
                ('option', fields.CharField(max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_deliberation_vote', 'app': 'reports', 'unique_together': (('deliberation_id', 'household_id'),), 'pk_attr': 'id', 'table_description': 'One vote per household per deliberation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportEvaluation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SPECIAL: special\nORGANISATIONAL: organisational', enum_type=EvaluationKind, max_length=16)),
                ('score', fields.IntField()),
                ('comment', fields.CharField(null=True, max_length=500)),
                ('subject_user_id', fields.BigIntField(null=True)),
                ('evaluator_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_evaluation', 'app': 'reports', 'unique_together': (('report_id', 'kind'),), 'pk_attr': 'id', 'table_description': "A community's evaluation of how a report was handled (one per kind and report)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('action', fields.CharField(max_length=24)),
                ('actor_id', fields.BigIntField(null=True)),
                ('on_behalf_of_id', fields.BigIntField(null=True)),
                ('from_status', fields.CharField(null=True, max_length=12)),
                ('to_status', fields.CharField(null=True, max_length=12)),
                ('from_level', fields.CharField(null=True, max_length=10)),
                ('to_level', fields.CharField(null=True, max_length=10)),
                ('note', fields.CharField(null=True, max_length=1000)),
                ('data', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('public', fields.BooleanField(default=True)),
                ('transition', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_event', 'app': 'reports', 'indexes': [Index(fields=['report_id', 'id'])], 'pk_attr': 'id', 'table_description': 'The timeline: one row per transition (and per notable event), written in the same transaction.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportRating',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='ratings', on_delete=OnDelete.CASCADE)),
                ('round', fields.IntField()),
                ('score', fields.IntField()),
                ('comment', fields.CharField(null=True, max_length=500)),
                ('rated_by_id', fields.BigIntField()),
                ('on_behalf_of_id', fields.BigIntField(null=True)),
                ('channel', fields.CharEnumField(description='APP: app\nPHONE: phone', enum_type=RatingChannel, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_rating', 'app': 'reports', 'unique_together': (('report_id', 'round'),), 'pk_attr': 'id', 'table_description': "The reporter's rating of one resolution (one per report and round: a reopened report is rated again)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportSupport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user_id', fields.BigIntField(db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_support', 'app': 'reports', 'unique_together': (('report_id', 'user_id'),), 'pk_attr': 'id', 'table_description': '我也遇到: one per user per report.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Whistle',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='whistles', on_delete=OnDelete.CASCADE)),
                ('blown_by_id', fields.BigIntField()),
                ('note', fields.CharField(max_length=500)),
                ('deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_whistle', 'app': 'reports', 'pk_attr': 'id', 'table_description': '吹哨: community or street staff summon departments to a report, with a deadline.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WhistleTarget',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('whistle', fields.ForeignKeyField('reports.Whistle', source_field='whistle_id', db_constraint=True, to_field='id', related_name='targets', on_delete=OnDelete.CASCADE)),
                ('report_id', fields.BigIntField(db_index=True)),
                ('department_id', fields.BigIntField()),
                ('status', fields.CharEnumField(default=WhistleStatus.SUMMONED, description='SUMMONED: summoned\nACKNOWLEDGED: acknowledged\nDONE: done', enum_type=WhistleStatus, max_length=12)),
                ('ack_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_by_id', fields.BigIntField(null=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('late_ack', fields.BooleanField(default=False, db_default=False)),
                ('late', fields.BooleanField(default=False, db_default=False)),
                ('last_progress_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_whistle_target', 'app': 'reports', 'unique_together': (('whistle_id', 'department_id'),), 'indexes': [Index(fields=['department_id', 'status', 'id'])], 'pk_attr': 'id', 'table_description': 'One summoned department: it must acknowledge (报到) by ``ack_due_at`` and finish by the deadline.'},
            bases=['Model'],
        ),
        ops.RunPython(_stash_sqlite_indexes, ops.RunPython.noop),
        ops.AddConstraint(model_name='ReportEvaluation', constraint=CheckConstraint(check='score BETWEEN 0 AND 100', name='report_evaluation_score_range')),
        ops.AddConstraint(model_name='ReportRating', constraint=CheckConstraint(check='score BETWEEN 1 AND 5', name='report_rating_score_range')),
        ops.RunPython(_restore_sqlite_indexes, ops.RunPython.noop),
    ]
