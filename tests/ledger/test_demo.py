"""The ledger's demo data: volunteers with hours, residents with points, a clean ledger, and a second run that
changes nothing."""

from __future__ import annotations

from backend.demo.seed import seed
from backend.ledger.verify import verify
from backend.models.org import OrgLevel, OrgUnit
from backend.models.ledger import Account, Currency, OwnerKind, Transfer, TransferKind


class TestDemoLedger:
    async def test_seeded_ledger_is_populated_consistent_and_idempotent(self, database):
        await seed()
        transfers = await Transfer.all().count()
        communities = await OrgUnit.filter(level=OrgLevel.COMMUNITY).count()
        assert await Account.filter(owner_kind=OwnerKind.STORE).count() == communities  # one 爱心超市 each, not two
        assert await Account.filter(owner_kind=OwnerKind.USER, currency=Currency.HOUR, balance__gt=0).count() >= 50
        assert await Transfer.filter(kind=TransferKind.ALLOWANCE).count() > 0
        assert await Transfer.filter(kind=TransferKind.REDEEM_GOODS).count() > 0
        assert (await verify()).ok
        await seed()
        assert await Transfer.all().count() == transfers
