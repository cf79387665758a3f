"""Loaders for ``{id}`` routes: the caller's own inbox item, a unit or an unreachable delivery in the caller's
area (404 otherwise, never 403, so ids outside one's scope reveal nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser, Staff
from backend.core.errors import NotFound
from backend.models.notifications import InboxItem, WechatDelivery
from backend.models.org import OrgUnit
from backend.notifications import repository, service
from backend.notifications.enums import UNREACHABLE
from backend.notifications.exceptions import DeliveryNotFound
from backend.notifications.schemas import AnnouncementIn
from backend.org.scope import scope_of

Id = Annotated[int, Path(gt=0, le=2**62)]


async def own_item(principal: CurrentUser, item_id: Id) -> InboxItem:
    return await service.get_item(principal.id, item_id)


async def unreachable_delivery(principal: Staff, delivery_id: Id) -> WechatDelivery:
    found = await repository.unreachable_one(scope_of(principal, service.STAFF_VIEW), UNREACHABLE, delivery_id)
    if found is None:
        raise DeliveryNotFound()
    return found


async def announcement_unit(principal: Staff, body: AnnouncementIn) -> OrgUnit:
    unit = await repository.unit_in_scope(scope_of(principal, service.STAFF_VIEW), body.unit_id)
    if unit is None:
        raise NotFound("找不到该单位，或不在您的管辖范围内")
    return unit


OwnItem = Annotated[InboxItem, Depends(own_item)]
UnreachableDelivery = Annotated[WechatDelivery, Depends(unreachable_delivery)]
AnnouncementUnit = Annotated[OrgUnit, Depends(announcement_unit)]
