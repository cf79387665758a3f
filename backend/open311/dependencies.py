"""Loaders for the Open311 routes: the format from the path suffix, the POST body (form-encoded as the spec
says, multipart, or JSON) as flat strings, the API client its ``api_key`` names, and the GET requests
filters."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.datastructures import UploadFile

from backend.models.open311 import Open311Client
from backend.open311 import service
from backend.open311.exceptions import BadParameter, UnsupportedFormat
from backend.open311.render import FORMATS
from backend.open311.schemas import Posted, RequestQuery, parse_query
from backend.reports.categories import taxonomy

_ATTRIBUTE = re.compile(r"attribute\[([^\]]{1,64})\](\[\])?")
MAX_FIELDS = 100


def response_format(format: str) -> str:  # noqa: A002 - the spec's name for the path suffix
    if format not in FORMATS:
        raise UnsupportedFormat(
            detail=[{"loc": "format", "message": f"不支持 .{format[:10]}，请用 .xml 或 .json"}]
        )
    return format


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, UploadFile):
        raise BadParameter(detail=[{"loc": key, "message": "不接受上传文件，请用 media_url 给出链接"}])
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float) or value is None:
        return "" if value is None else str(value)
    raise BadParameter(detail=[{"loc": key, "message": "应为文字或数字"}])


def _add(posted: Posted, key: str, value: Any) -> None:
    match = _ATTRIBUTE.fullmatch(key)
    if match:
        values = value if isinstance(value, list) else [value]
        posted.attributes.setdefault(match.group(1), []).extend(_scalar(key, v) for v in values)
    elif key == "attribute" and isinstance(value, dict):  # JSON: {"attribute": {"code": "value" | [...]}}
        for code, item in value.items():
            _add(posted, f"attribute[{code}]", item)
    else:
        posted.fields[key] = _scalar(key, value)


async def posted_fields(request: Request) -> Posted:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    posted = Posted()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            body = await request.json()
        except ValueError as exc:
            raise BadParameter(detail=[{"loc": "请求体", "message": "不是有效的 JSON"}]) from exc
        if not isinstance(body, dict):
            raise BadParameter(detail=[{"loc": "请求体", "message": "应为 JSON 对象"}])
        items = list(body.items())
    else:
        try:
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        except Exception as exc:  # noqa: BLE001 - malformed multipart, too many fields, a file part
            raise BadParameter(
                detail=[{"loc": "请求体", "message": "无法解析表单（应为 x-www-form-urlencoded）"}]
            ) from exc
        items = list(form.multi_items())
    if len(items) > MAX_FIELDS:
        raise BadParameter(detail=[{"loc": "请求体", "message": f"字段太多（最多 {MAX_FIELDS} 个）"}])
    for key, value in items:
        _add(posted, str(key), value)
    return posted


PostedBody = Annotated[Posted, Depends(posted_fields)]


async def api_client(request: Request, posted: PostedBody) -> Open311Client:
    """The ``api_key`` may come in the body (as in the spec's example) or in the query string (swagger)."""
    return await service.authenticate(posted.fields.get("api_key") or request.query_params.get("api_key"))


async def request_query(
    service_request_id: Annotated[list[str] | None, Query()] = None,
    service_code: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    start_date: str | None = None,
    end_date: str | None = None,
) -> RequestQuery:
    return parse_query(
        service_request_id=service_request_id,
        service_code=service_code,
        status=status,
        start_date=start_date,
        end_date=end_date,
        known_codes=set(taxonomy().by_code),
    )


Format = Annotated[str, Depends(response_format)]
ApiClient = Annotated[Open311Client, Depends(api_client)]
Filters = Annotated[RequestQuery, Depends(request_query)]
