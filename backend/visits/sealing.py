"""The resident ledger's sensitive fields at rest: encrypted with the visits' own key
(``backend/core/crypto``, docs/adr/0022), each ciphertext bound to its table, household and field, so a value
copied onto another household or into another field does not decrypt. Clear values exist only in memory: to
mask them, to compare an edit with what was there, or for a logged reveal."""

from __future__ import annotations

from typing import Any

from backend.config import Settings
from backend.core import crypto

LEDGER = crypto.Purpose(salt=b"jinlin/visits", seal_info=b"resident ledger aes-gcm v1")
PROFILE_SEALED = ("head_id_number", "contact_phone", "health_status", "disability_status")
MEMBER_SEALED = ("id_number", "phone", "health_status", "disability_status")
PROFILE_TABLE = "visit_household_profile"
MEMBER_TABLE = "visit_household_member"
CHANGE_TABLE = "visit_household_change"


def column(field: str) -> str:
    """The column that holds a sealed field."""
    return f"{field}_enc"


def _binding(table: str, household_id: int, field: str) -> str:
    return f"{table}:{household_id}:{field}"


def seal(settings: Settings, value: Any, *, table: str, household_id: int, field: str) -> str | None:
    if value is None:
        return None
    return LEDGER.seal(settings, str(value), bound_to=_binding(table, household_id, field))


def unseal(settings: Settings, token: str | None, *, table: str, household_id: int, field: str) -> str | None:
    if token is None:
        return None
    return LEDGER.unseal(settings, token, bound_to=_binding(table, household_id, field))


def seal_values(
    settings: Settings, values: dict[str, Any], *, table: str, sealed: tuple[str, ...], household_id: int
) -> dict[str, Any]:
    """Model columns for these field values: sealed fields go to their ``*_enc`` column, encrypted."""
    return {
        (column(f) if f in sealed else f): (
            seal(settings, v, table=table, household_id=household_id, field=f) if f in sealed else v
        )
        for f, v in values.items()
    }


def clear_values(
    settings: Settings,
    row: Any,
    fields: tuple[str, ...],
    *,
    table: str,
    sealed: tuple[str, ...],
    household_id: int,
) -> dict[str, Any]:
    """The clear values of ``fields`` of a profile or member row (None for a missing row)."""
    if row is None:
        return dict.fromkeys(fields)
    return {
        f: (
            unseal(settings, getattr(row, column(f)), table=table, household_id=household_id, field=f)
            if f in sealed
            else getattr(row, f)
        )
        for f in fields
    }


def change_binding(household_id: int, member_id: int | None, field: str, side: str) -> dict[str, Any]:
    return {"table": CHANGE_TABLE, "household_id": household_id, "field": f"{member_id or 0}:{field}:{side}"}
