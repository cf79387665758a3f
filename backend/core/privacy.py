"""Masking of sensitive personal information, and the audited way to unmask it.

Phones, addresses, ID numbers and health/disability/income status leave the API masked. A role that needs the
clear value asks for it explicitly (``reveal``), and each such read writes an audit row (PIPL Art. 28/51;
GB/T 35273 §7.2). Lists never reveal.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.auth.principal import Principal
from backend.core import audit
from backend.core.errors import Forbidden
from backend.models.user import Role

REVEAL_ROLES = frozenset(
    {Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN}
)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_address(address: str | None) -> str | None:
    if not address:
        return None
    keep = min(6, max(len(address) // 3, 1))
    return address[:keep] + "****"


def mask_id_number(number: str | None) -> str | None:
    if not number:
        return None
    return number[:3] + "*" * max(len(number) - 7, 4) + number[-4:]


async def reveal(
    principal: Principal, *, object_type: str, object_id: object, fields: Iterable[str], reason: str | None = None
) -> None:
    """Check that the caller's role may see clear values, and log that they did."""
    if not principal.has(*REVEAL_ROLES):
        raise Forbidden("您的角色不能查看完整的个人信息")
    await audit.record(
        "reveal:" + ",".join(sorted(fields)),
        actor_id=principal.id,
        object_type=object_type,
        object_id=object_id,
        detail={"reason": reason} if reason else None,
    )
