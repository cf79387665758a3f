"""Keyset (cursor) pagination: stable under inserts, cheap at any depth, unlike OFFSET."""

from __future__ import annotations

import base64
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from backend.core.errors import BadRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("分页参数 cursor 无效", detail={"loc": "query.cursor"}) from exc


CursorParam = Annotated[str | None, Query(max_length=64, description="上一页返回的 next_cursor")]
LimitParam = Annotated[int, Query(ge=1, le=100, description="每页条数")]


def page_of(rows: list, limit: int, to_item) -> Page:  # type: ignore[no-untyped-def]
    """Build a page from ``limit + 1`` rows ordered by descending id (the extra row proves there is more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[to_item(r) for r in rows], next_cursor=encode_cursor(rows[-1].id) if more and rows else None)
