"""/api/v1/admin/outbox: what failed, and a button to try it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.auth.dependencies import Admin
from backend.core.errors import NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from backend.models.outbox import OutboxStatus
from backend.outbox import repository, service
from backend.outbox.schemas import OutboxEventOut, OutboxStats, event_out

router = APIRouter(prefix="/api/v1/admin/outbox", tags=["admin"])


@router.get("", response_model=Page[OutboxEventOut])
async def list_events(
    principal: Admin,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    status: OutboxStatus | None = OutboxStatus.DEAD,
    kind: Annotated[str | None, Query(max_length=64)] = None,
):
    """待处理、失败（dead）的后台任务，最新的在前。"""
    rows = await repository.events(status=status, kind=kind, before_id=decode_cursor(cursor), limit=limit)
    return page_of(rows, limit, event_out)


@router.get("/stats", response_model=OutboxStats)
async def stats(principal: Admin):
    return OutboxStats(counts=await repository.counts(), oldest_pending_seconds=await repository.oldest_pending_seconds())


@router.post("/{event_id}/retry", response_model=OutboxEventOut, responses=responses(NotFound))
async def retry(principal: Admin, event_id: Annotated[int, Path(gt=0, le=2**62)]):
    """把失败的任务重新排队。"""
    event = await service.retry_dead(event_id, actor_id=principal.id)
    if event is None:
        raise NotFound("找不到该失败任务")
    return event_out(event)
