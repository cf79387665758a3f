"""Shapes of the media API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.core.timeutil import LocalDatetime


class MediaOut(BaseModel):
    id: int
    url: str = Field(description="签名的短期链接（约 15 分钟内有效），可直接用于 <image src>")
    content_type: str
    size: int
    width: int
    height: int
    created_at: LocalDatetime
