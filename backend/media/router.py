"""/api/v1/media: upload a photo, read its metadata (with a fresh signed URL), fetch it by signed URL.

``wx.uploadFile`` sends ``multipart/form-data`` with one file field (named ``file`` here) and can carry the
``Authorization`` header; ``<image src>`` cannot, which is why files are fetched by signed URL (docs/adr/0013).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from backend.auth.dependencies import CurrentUser
from backend.core.deps import SettingsDep
from backend.core.errors import responses
from backend.media import images, service
from backend.media.exceptions import (
    BadUpload,
    BrokenImage,
    LinkExpired,
    MediaNotFound,
    NotAnImage,
    PhotoTooLarge,
    TooManyPixels,
)
from backend.media.schemas import MediaOut
from backend.models.media import MediaFile

router = APIRouter(prefix="/api/v1/media", tags=["media"])
MediaId = Annotated[int, Path(gt=0, le=2**62)]
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "JPEG / PNG / WebP，≤ 10 MB",
                    }
                },
            }
        }
    },
}


def _out(settings, row: MediaFile) -> MediaOut:  # type: ignore[no-untyped-def]
    return MediaOut(
        id=row.id,
        url=service.signed_url(settings, row),
        content_type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        created_at=row.created_at,
    )


async def _read_body(request: Request) -> bytes:
    """The request body, refused as soon as it passes the upload limit (whatever Content-Length claims)."""
    limit = service.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PhotoTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PhotoTooLarge()
    return bytes(body)


async def _the_file(request: Request) -> tuple[bytes, str]:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadUpload()
    body = await _read_body(request)

    async def replay():  # type: ignore[no-untyped-def]
        yield body
        yield b""

    try:
        form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=4).parse()
    except MultiPartException as exc:
        raise BadUpload() from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadUpload()
    data = await upload.read()
    await form.close()
    return data, (upload.content_type or "").split(";")[0].strip().lower()


@router.post(
    "",
    response_model=MediaOut,
    status_code=201,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses=responses(BadUpload, NotAnImage, BrokenImage, PhotoTooLarge, TooManyPixels),
)
async def upload(principal: CurrentUser, settings: SettingsDep, request: Request):
    """上传一张照片（≤ 10 MB，JPEG/PNG/WebP）。服务器重新编码并去掉 EXIF（含拍摄位置），返回图片 id。"""
    data, content_type = await _the_file(request)
    if content_type not in images.ALLOWED_CONTENT_TYPES:
        raise NotAnImage(detail={"content_type": content_type or None})
    if len(data) > service.MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(detail={"size": len(data)})
    if not data:
        raise BrokenImage()
    row = await service.store(settings.media_dir, uploader_id=principal.id, data=data)
    return _out(settings, row)


@router.get("/{media_id}", response_model=MediaOut, responses=responses(MediaNotFound))
async def get_media(principal: CurrentUser, settings: SettingsDep, media_id: MediaId):
    """图片信息和新的签名链接（自己上传的，或所属对象您有权查看的）。"""
    return _out(settings, await service.readable(principal, media_id))


@router.get(
    "/{media_id}/content",
    response_class=FileResponse,
    responses={**responses(LinkExpired), 200: {"content": {"image/jpeg": {}}, "description": "图片"}},
)
async def content(
    settings: SettingsDep,
    media_id: MediaId,
    exp: Annotated[int, Query(ge=0, le=2**40, description="过期时间（Unix 秒）")],
    sig: Annotated[str, Query(min_length=1, max_length=64, description="签名")],
):
    """按签名链接取图片（无需登录头：小程序的 <image> 不能带 Authorization）。"""
    row, remaining = await service.open_signed(settings, media_id, exp, sig)
    path = settings.media_dir / row.path
    if not path.is_file():
        raise MediaNotFound()
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={"Cache-Control": f"private, max-age={remaining}", "X-Content-Type-Options": "nosniff"},
    )
