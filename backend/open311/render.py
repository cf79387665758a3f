"""One representation, two formats: every Open311 answer is built once as plain data (lists and dicts of
strings, numbers, booleans and None) and encoded as XML (required by the spec) or JSON (optional).

XML element names are the JSON field names; a list is a wrapper element holding one element per item, named
by ``ITEM_NAMES`` (``<services><service>…``, ``<service_requests><request>…``, ``<attributes><attribute>…``,
``<values><value>…``, ``<errors><error>…``); None is an empty element; booleans are ``true``/``false``. The
XML carries the declaration with ``encoding="utf-8"`` and both formats declare UTF-8 in the Content-Type, as
the spec requires.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from fastapi import Response

from backend.core.errors import AppError
from backend.core.handlers import validation_detail

FORMATS = ("xml", "json")
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all (ElementTree would write them and produce a broken document).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Document:
    """An answer: the XML root element's name and the data (a list for collections, a dict otherwise)."""

    root: str
    data: list[Any] | dict[str, Any]


def to_json(doc: Document) -> bytes:
    return json.dumps(doc.data, ensure_ascii=False, separators=(",", ":")).encode()


def to_xml(doc: Document) -> bytes:
    root = ET.Element(doc.root)
    _fill(root, doc.data)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode").encode()


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEM_NAMES[element.tag]), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def clean(value: Any) -> Any:
    """The data without characters XML cannot carry, so that both formats say the same."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value


def respond(doc: Document, fmt: str, status_code: int = 200) -> Response:
    doc = Document(doc.root, clean(doc.data))
    body = to_json(doc) if fmt == "json" else to_xml(doc)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPES[fmt])


# ------------------------------------------------------------------------------------------------ errors


def http_status(error: AppError) -> int:
    """The spec's statuses: 403 for API key problems, 404 for what does not exist, 400 for anything else the
    client can fix; throttling and server-side failures keep their own."""
    status = error.status_code
    if status in (401, 403):
        return 403
    if status in (404, 429) or status >= 500:
        return status
    return 400


def error_items(error: AppError) -> list[dict[str, Any]]:
    """One ``{code, description}`` per problem: per field when the error lists them, else the message."""
    code = http_status(error)
    detail = error.detail
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and "message" in d for d in detail):
        return [
            {"code": code, "description": f"{d.get('loc') or error.message}：{d['message']}"} for d in detail
        ]
    return [{"code": code, "description": error.message}]


def error_response(error: AppError, fmt: str) -> Response:
    return respond(Document("errors", error_items(error)), fmt, status_code=http_status(error))


def field_errors(errors: list[dict[str, Any]], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Pydantic errors as ``{loc, message}`` with the Open311 parameter names (``names``: ours → theirs)."""
    out = []
    for item in validation_detail(errors):
        parts = [p for p in item["loc"].split(".") if p not in ("body", "query", "path")]
        loc = ".".join((names or {}).get(p, p) for p in parts)
        out.append({"loc": loc or "请求", "message": item["message"]})
    return out
