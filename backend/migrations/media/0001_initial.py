from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='MediaFile',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=40)),
                ('path', fields.CharField(max_length=200)),
                ('uploader', fields.ForeignKeyField('core.User', source_field='uploader_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('content_type', fields.CharField(max_length=40)),
                ('size', fields.IntField()),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('owner_type', fields.CharField(null=True, max_length=24)),
                ('owner_id', fields.BigIntField(null=True)),
                ('attached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'media_file', 'app': 'media', 'indexes': [Index(fields=['owner_type', 'owner_id']), Index(fields=['uploader_id', 'id']), Index(fields=['attached_at', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
