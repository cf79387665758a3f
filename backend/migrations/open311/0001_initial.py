from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.reports import Channel
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('reports', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Open311Client',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('key_prefix', fields.CharField(max_length=12)),
                ('community', fields.ForeignKeyField('core.OrgUnit', source_field='community_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharEnumField(default=Channel.APP, description='APP: app\nPHONE: phone\nVISIT: visit\nWEATHER_STATION: weather_station\nHOTLINE: hotline', enum_type=Channel, max_length=16)),
                ('is_active', fields.BooleanField(default=True, db_default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'open311_client', 'app': 'open311', 'pk_attr': 'id', 'table_description': 'A client organisation allowed to file reports through POST requests, with its API key hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Open311Request',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.OneToOneField('reports.Report', source_field='report_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('open311.Open311Client', source_field='client_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('account_id', fields.CharField(null=True, max_length=64)),
                ('device_id', fields.CharField(null=True, max_length=64)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('first_name', fields.CharField(null=True, max_length=32)),
                ('last_name', fields.CharField(null=True, max_length=32)),
                ('address_id', fields.CharField(null=True, max_length=64)),
                ('media_url', fields.CharField(null=True, max_length=1000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'open311_request', 'app': 'open311', 'pk_attr': 'id', 'table_description': 'What a client sent with a report that the report itself does not keep (never part of any output).'},
            bases=['Model'],
        ),
    ]
