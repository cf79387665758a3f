"""Index ``role_grant`` by (unit, role): "who holds role R in unit U" is asked by every report submission and
escalation (``notifications.recipients.holders``), and without it each ask read the whole table, which holds a
grant for every resident of the street.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [('core', '0002_one_grant_per_role_and_place')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='RoleGrant',
            index=Index(fields=['org_unit_id', 'role']),
        ),
    ]
