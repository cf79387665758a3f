"""Errors of the media domain (in the one error tree of backend/core/errors.py)."""

from __future__ import annotations

from backend.core.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed


class MediaNotFound(NotFound):
    message = "找不到该图片"


class LinkExpired(NotFound):
    message = "图片链接无效或已过期，请刷新页面"


class PhotoTooLarge(PayloadTooLarge):
    message = "图片不能超过 10 MB"


class NotAnImage(UnsupportedMediaType):
    message = "只能上传 JPEG、PNG 或 WebP 格式的图片"


class BrokenImage(UnsupportedMediaType):
    message = "图片已损坏，无法读取"


class TooManyPixels(ValidationFailed):
    message = "图片尺寸过大（超过 5000 万像素）"


class BadUpload(BadRequest):
    message = "上传格式不正确：请用 multipart/form-data 上传一个名为 file 的文件"


class MediaNotUsable(ValidationFailed):
    message = "照片不存在、不是您上传的，或已被使用"
