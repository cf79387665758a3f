"""Write audit rows (who did what to what, on whose behalf), inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from backend.core.logging import request_id_var
from backend.models.audit import AuditLog


async def record(
    action: str,
    *,
    actor_id: int | None,
    object_type: str,
    object_id: Any = None,
    on_behalf_of_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    return await AuditLog.create(
        actor_id=actor_id,
        on_behalf_of_id=on_behalf_of_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
        request_id=request_id_var.get(),
    )
