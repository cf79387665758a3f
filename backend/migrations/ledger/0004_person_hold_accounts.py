"""A person's hold account (``owner_kind = 'hold'``, ADR 27): an order reserves points into its payer's own
hold account instead of the community's escrow, so orders of different people no longer queue on one row.
The column is a varchar(8) that takes 'hold' as it is: only the model state's description of the enum
changes, so the operation touches no table (on SQLite an ALTER would rebuild ``ledger_account`` and lose its
unique key, see 0001). Escrow accounts stay, and orders placed before this settle from them."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from backend.models.ledger import OwnerKind


class _DescribeOnly(ops.AlterField):
    """The field's new description in the migration state; nothing in the database."""

    async def database_forward(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        return None

    async def database_backward(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        return None


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_post_judges_refusals_under_the_key")]

    initial = False

    operations = [
        _DescribeOnly(
            model_name="Account",
            name="owner_kind",
            field=fields.CharEnumField(
                description="USER: user\nISSUER: issuer\nSTORE: store\nESCROW: escrow\nHOLD: hold",
                enum_type=OwnerKind,
                max_length=8,
            ),
        ),
    ]
