"""Write audit rows (who did what to what, on whose behalf), inside the caller's transaction.

Most staff writes add an audit row, so this is one of the hand-written statements of ``backend/core/sql.py``:
a constant INSERT, encoded with the same JSON encoder as the ``detail`` field of the model."""

from __future__ import annotations

from typing import Any

from tortoise.fields.data import JSON_DUMPS

from backend.core import sql
from backend.core.logging import request_id_var
from backend.core.timeutil import utcnow

_INSERT = (
    "INSERT INTO audit_log (actor_id, on_behalf_of_id, action, object_type, object_id, detail, request_id,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
)


async def record(
    action: str,
    *,
    actor_id: int | None,
    object_type: str,
    object_id: Any = None,
    on_behalf_of_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one audit row; returns its id."""
    found = await sql.fetch(
        _INSERT,
        actor_id,
        on_behalf_of_id,
        action[:64],
        object_type[:32],
        None if object_id is None else str(object_id)[:64],
        None if detail is None else JSON_DUMPS(detail),
        request_id_var.get(),
        utcnow(),
    )
    return found[0]["id"]
