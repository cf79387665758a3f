"""/api/v1/notifications/* (the inbox, preferences, WeChat consent, presence, announcements, the staff view of
people an urgent notice did not reach) and the /api/v1/ws socket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, WebSocket

from backend.auth.dependencies import CurrentUser, Staff
from backend.core.errors import Forbidden, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor
from backend.notifications import service, ws
from backend.notifications.dependencies import AnnouncementUnit, OwnItem, UnreachableDelivery
from backend.notifications.exceptions import (
    AlreadyResolved,
    AudienceEmpty,
    AudienceTooLarge,
    DeliveryNotFound,
    NotificationNotFound,
    PresenceNotAllowed,
    UnknownTemplate,
)
from backend.notifications.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    InboxItemOut,
    InboxPage,
    Kind,
    PreferencesIn,
    PreferencesOut,
    PresenceIn,
    PresenceOut,
    ReadAllIn,
    ReadAllOut,
    ResolveIn,
    SubscriptionsIn,
    SubscriptionsOut,
    TemplateOut,
    UnreachableOut,
    UnreadCount,
)
from backend.org.scope import scope_of

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    await ws.serve(websocket)


# Static paths first: "/notifications/{item_id}" would otherwise swallow them.


@router.get("/notifications", response_model=InboxPage)
async def list_inbox(
    principal: CurrentUser,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
    unread: Annotated[bool, Query(description="只看未读")] = False,
    kind: Annotated[Kind | None, Query(description="只看某一类")] = None,
):
    """我的通知，最新的在前；附未读数。"""
    return await service.inbox(principal.id, before_id=decode_cursor(cursor), unread_only=unread, kind=kind,
                               limit=limit)


@router.get("/notifications/unread-count", response_model=UnreadCount)
async def unread_count(principal: CurrentUser):
    return await service.unread(principal.id)


@router.post("/notifications/read-all", response_model=ReadAllOut)
async def read_all(principal: CurrentUser, body: ReadAllIn):
    """全部标为已读（可只标到列表顶部那一条，之后新来的仍为未读）。"""
    return ReadAllOut(updated=await service.mark_all_read(principal.id, body.up_to))


@router.get("/notifications/preferences", response_model=PreferencesOut)
async def get_preferences(principal: CurrentUser):
    return await service.preferences(principal.id)


@router.put("/notifications/preferences", response_model=PreferencesOut)
async def put_preferences(principal: CurrentUser, body: PreferencesIn):
    """屏蔽某些类型、设置免打扰时段（紧急通知不受影响；免打扰期间的通知次日早上 8 点汇总）。"""
    return await service.set_preferences(principal.id, body)


@router.get("/notifications/templates", response_model=list[TemplateOut])
async def list_templates(principal: CurrentUser):
    """本小程序的订阅消息模板（供 wx.requestSubscribeMessage 使用）。"""
    return service.templates_out()


@router.get("/notifications/subscriptions", response_model=SubscriptionsOut)
async def get_subscriptions(principal: CurrentUser):
    return SubscriptionsOut(remaining=await service.remaining_consents(principal.id))


@router.post("/notifications/subscriptions", response_model=SubscriptionsOut, status_code=201,
             responses=responses(UnknownTemplate))
async def record_subscriptions(principal: CurrentUser, body: SubscriptionsIn):
    """记录用户在订阅弹窗中的选择：每次“允许”可以收到一条该模板的消息。"""
    return SubscriptionsOut(remaining=await service.record_consents(principal.id, body.results))


@router.get("/notifications/presence", response_model=PresenceOut)
async def get_presence(principal: CurrentUser):
    return await service.presence(principal.id)


@router.put("/notifications/presence", response_model=PresenceOut, responses=responses(PresenceNotAllowed))
async def put_presence(principal: CurrentUser, body: PresenceIn):
    """志愿者设置“可接单”及当前位置；部门工作人员设置“在岗”。下岗时不保留位置。"""
    return await service.set_presence(principal, body)


@router.post("/notifications/announcements", response_model=AnnouncementOut, status_code=201,
             responses=responses(NotFound, Forbidden, AudienceEmpty, AudienceTooLarge))
async def announce(principal: Staff, body: AnnouncementIn, unit: AnnouncementUnit):
    """向管辖范围内某单位的居民 / 工作人员 / 志愿者发通知。"""
    return await service.announce(principal, unit, body)


@router.get("/notifications/unreachable", response_model=Page[UnreachableOut], responses=responses(Forbidden))
async def list_unreachable(
    principal: Staff,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
    resolved: Annotated[bool, Query(description="包括已电话联系过的")] = False,
):
    """紧急通知没能通过微信送达、本人也还没看到的人（请电话联系）。"""
    return await service.unreachable(scope_of(principal, service.STAFF_VIEW), include_resolved=resolved,
                                     before_id=decode_cursor(cursor), limit=limit)


@router.post("/notifications/unreachable/{delivery_id}/resolve", response_model=UnreachableOut,
             responses=responses(DeliveryNotFound, AlreadyResolved, Forbidden))
async def resolve_unreachable(principal: Staff, delivery: UnreachableDelivery, body: ResolveIn):
    """记录已通过其他方式（电话、上门）通知到本人。"""
    return await service.resolve(principal, delivery, body.note)


@router.get("/notifications/{item_id}", response_model=InboxItemOut, responses=responses(NotificationNotFound))
async def get_item(item: OwnItem):
    return service.item_out(item)


@router.post("/notifications/{item_id}/read", response_model=InboxItemOut,
             responses=responses(NotificationNotFound))
async def read_item(principal: CurrentUser, item: OwnItem):
    return service.item_out(await service.mark_read(principal.id, item.id))
