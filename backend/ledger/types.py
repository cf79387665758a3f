"""The value types of the posting API: who owns an account, one leg of a transfer, where it happened, and what
was posted. Callers build legs with the owner helpers: ``Leg(user(7), Currency.HOUR, 90)``."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.models.ledger import Account, Currency, OwnerKind, PendingAward, Transfer
from backend.models.org import Household, OrgUnit


@dataclass(frozen=True, order=True)
class Owner:
    kind: OwnerKind
    id: int


def user(user_id: int) -> Owner:
    return Owner(OwnerKind.USER, user_id)


def issuer(community_id: int) -> Owner:
    return Owner(OwnerKind.ISSUER, community_id)


def store(store_id: int) -> Owner:
    return Owner(OwnerKind.STORE, store_id)


def escrow(community_id: int) -> Owner:
    return Owner(OwnerKind.ESCROW, community_id)


def hold(user_id: int) -> Owner:
    return Owner(OwnerKind.HOLD, user_id)


@dataclass(frozen=True)
class Leg:
    owner: Owner
    currency: Currency
    amount: int  # minutes or points; positive credits the owner, negative debits
    earning: bool = False  # counts towards the owner's lifetime earned hours (奉献嘉评)


@dataclass(frozen=True)
class Place:
    """Where a transfer happened (its community and, when known, grid): what staff scoping filters on."""

    street_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None
    compound_id: int | None = None

    @classmethod
    def of(cls, row: OrgUnit | Household | Account | Transfer | PendingAward | None) -> Place:
        """The place of an org unit, a household, or any row carrying the ancestor-id columns."""
        if row is None:
            return cls()
        return cls(row.street_id, row.community_id, row.grid_id, row.compound_id)


@dataclass(frozen=True)
class PostedEntry:
    account_id: int
    owner: Owner
    currency: Currency
    amount: int
    balance_after: int
    earning: bool = False


@dataclass
class Posted:
    transfer: Transfer
    entries: list[PostedEntry] = field(default_factory=list)
    replayed: bool = False  # the idempotency key had already posted this transfer
