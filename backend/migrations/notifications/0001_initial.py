from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.models.notifications import ConsentChoice, DeliveryStatus, Urgency
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='InboxState',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='inbox_state', on_delete=OnDelete.CASCADE)),
                ('last_item_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'inbox_state', 'app': 'notifications', 'pk_attr': 'id', 'table_description': "Per user: the row every inbox writer locks first, and the id of the user's latest item."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=48)),
                ('title', fields.CharField(max_length=64)),
                ('body', fields.CharField(default='', db_default='', max_length=1000)),
                ('link', fields.CharField(null=True, max_length=200)),
                ('urgency', fields.CharEnumField(default=Urgency.NORMAL, description='NORMAL: normal\nURGENT: urgent', enum_type=Urgency, max_length=8)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('actor', fields.ForeignKeyField('core.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='notification_events', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification_event', 'app': 'notifications', 'pk_attr': 'id', 'table_description': 'Something that happened and who should hear about it once: the content shared by its inbox rows.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='inbox_items', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('notifications.NotificationEvent', source_field='event_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=48)),
                ('urgency', fields.CharEnumField(default=Urgency.NORMAL, description='NORMAL: normal\nURGENT: urgent', enum_type=Urgency, max_length=8)),
                ('silent', fields.BooleanField(default=False, db_default=False)),
                ('prev_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('digest_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'inbox_item', 'app': 'notifications', 'unique_together': (('user_id', 'event_id'),), 'indexes': [Index(fields=['user_id', 'id']), Index(fields=['user_id', 'read_at']), Index(fields=['silent', 'digest_id'])], 'pk_attr': 'id', 'table_description': "One recipient's copy of an event. ``prev_id`` is that user's previous item: the chain a socket checks"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_preference', on_delete=OnDelete.CASCADE)),
                ('muted_kinds', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('quiet_start', fields.SmallIntField(null=True)),
                ('quiet_end', fields.SmallIntField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_preference', 'app': 'notifications', 'pk_attr': 'id', 'table_description': 'Muted kinds and quiet hours (minutes after local midnight, Asia/Shanghai). Urgent items ignore both.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Presence',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='presence', on_delete=OnDelete.CASCADE)),
                ('available', fields.BooleanField(default=False, db_default=False)),
                ('lat', fields.FloatField(null=True)),
                ('lng', fields.FloatField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'presence', 'app': 'notifications', 'indexes': [Index(fields=['available', 'lat'])], 'pk_attr': 'id', 'table_description': 'Whether a volunteer (or department staff member) is available / on duty, and where they last were.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WechatConsent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='wechat_consents', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=64)),
                ('choice', fields.CharEnumField(description='ACCEPT: accept\nREJECT: reject\nBAN: ban\nFILTER: filter', enum_type=ConsentChoice, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('spent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('spent_by', fields.BigIntField(null=True)),
            ],
            options={'table': 'wechat_consent', 'app': 'notifications', 'indexes': [Index(fields=['user_id', 'template_id', 'spent_at'])], 'pk_attr': 'id', 'table_description': 'One answer of ``wx.requestSubscribeMessage`` for one template. Each ``accept`` is one one-time grant,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WechatDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.OneToOneField('notifications.InboxItem', source_field='item_id', db_constraint=True, to_field='id', related_name='wechat_delivery', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='wechat_deliveries', on_delete=OnDelete.CASCADE)),
                ('urgency', fields.CharEnumField(default=Urgency.NORMAL, description='NORMAL: normal\nURGENT: urgent', enum_type=Urgency, max_length=8)),
                ('template_id', fields.CharField(null=True, max_length=64)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nUNCERTAIN: uncertain\nNO_TEMPLATE: no_template\nDISABLED: disabled\nNO_ACCOUNT: no_account\nNO_CONSENT: no_consent\nREJECTED: rejected\nINVALID: invalid\nFAILED: failed', enum_type=DeliveryStatus, max_length=16)),
                ('consent_id', fields.BigIntField(null=True)),
                ('attempts', fields.IntField(default=0, db_default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('msgid', fields.CharField(null=True, max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('core.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='resolved_deliveries', on_delete=OnDelete.SET_NULL)),
                ('resolution_note', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'wechat_delivery', 'app': 'notifications', 'indexes': [Index(fields=['status', 'urgency'])], 'pk_attr': 'id', 'table_description': 'The WeChat subscribe-message leg of one inbox item, with its outcome. Urgent items that could not be'},
            bases=['Model'],
        ),
        ops.AddConstraint(model_name='NotificationPreference', constraint=CheckConstraint(check='(quiet_start IS NULL AND quiet_end IS NULL) OR (quiet_start BETWEEN 0 AND 1439 AND quiet_end BETWEEN 0 AND 1439 AND quiet_start <> quiet_end)', name='notification_preference_quiet_hours')),
    ]
