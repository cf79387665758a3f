"""Open311 fixtures: the reports world (a street with two communities of two grids, grid polygons drawn,
people in every role; tests/reports/conftest.py), API clients issued through the service, the GeoReport v2
JSON Schemas (copied into ``schemas/`` with their licence note), and helpers that fetch an answer in both
formats and check that the XML carries the same data as the JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from backend.models.reports import Channel
from backend.open311 import service
from tests.reports import conftest as reports_fixtures
from tests.reports.conftest import World, point_in

world = reports_fixtures.world  # the reports world, shared as is
SCHEMAS = Path(__file__).parent / "schemas"
PREFIX = "/open311/v2"
LISTS = {"services", "service_requests", "attributes", "values", "errors"}  # XML wrappers of lists
DATETIMES = ("requested_datetime", "updated_datetime", "expected_datetime")


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(_schema(name), default_specification=DRAFT7))
    for name in ("service.json", "request.json")
)


def validate(schema: str, data: Any) -> None:
    """Against the copied GeoReport v2 schema (``$ref``s resolved among the copies), formats checked where
    jsonschema can; date-times are checked by ``assert_w3c`` (the format checker needs an extra package)."""
    checker = Draft7Validator.FORMAT_CHECKER
    validator = Draft7Validator(_schema(schema), registry=REGISTRY, format_checker=checker)
    validator.validate(data)
    for item in data if isinstance(data, list) else [data]:
        for key in DATETIMES:
            if isinstance(item, dict) and item.get(key) is not None:
                assert_w3c(item[key])


def assert_w3c(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None and value.endswith("+08:00"), value
    return parsed


def xml_data(element: ET.Element) -> Any:
    """The XML back as plain data: wrappers of lists → lists, other elements with children → dicts, leaves →
    their text (None when empty)."""
    if element.tag in LISTS:
        return [xml_data(child) for child in element]
    if len(element):
        return {child.tag: xml_data(child) for child in element}
    return element.text


def as_xml_text(value: Any) -> Any:
    """JSON data as XML text would carry it."""
    if isinstance(value, list):
        return [as_xml_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_xml_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


@dataclass
class Open311:
    client: httpx.AsyncClient

    async def get(self, path: str, fmt: str = "json", *, expect: int = 200, **params: Any) -> httpx.Response:
        resp = await self.client.get(f"{PREFIX}/{path}.{fmt}", params=params)
        assert resp.status_code == expect, (path, fmt, resp.status_code, resp.text)
        return resp

    async def both(self, path: str, *, expect: int = 200, **params: Any) -> tuple[Any, ET.Element, str]:
        """The JSON and the XML answer to the same request: same status, same data. Returns both, and the two
        serialized texts joined (for assertions on what leaves the server)."""
        as_json = await self.get(path, "json", expect=expect, **params)
        as_xml = await self.get(path, "xml", expect=expect, **params)
        assert as_json.headers["content-type"] == "application/json; charset=utf-8"
        assert as_xml.headers["content-type"] == "text/xml; charset=utf-8"
        assert as_xml.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        root = ET.fromstring(as_xml.content)
        data = as_json.json()
        assert as_xml_text(data) == xml_data(root)
        return data, root, as_json.text + as_xml.text

    async def post(
        self,
        fmt: str = "json",
        *,
        expect: int = 200,
        json_body: Any = None,
        headers: dict | None = None,
        **form: Any,
    ) -> httpx.Response:
        url = f"{PREFIX}/requests.{fmt}"
        if json_body is not None:
            resp = await self.client.post(url, json=json_body, headers=headers)
        else:
            resp = await self.client.post(url, data=form, headers=headers)
        assert resp.status_code == expect, (resp.status_code, resp.text)
        return resp


def errors_of(resp: httpx.Response) -> list[dict[str, Any]]:
    """The spec's error answer in either format, as ``[{code, description}]``, descriptions in Chinese."""
    if resp.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(resp.content)
        assert root.tag == "errors"
        items = [{"code": int(e.findtext("code")), "description": e.findtext("description")} for e in root]
    else:
        items = resp.json()
        assert isinstance(items, list)
    assert items and all(set(i) == {"code", "description"} for i in items), items
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in i["description"]) for i in items), items
    assert all(i["code"] == resp.status_code for i in items)
    return items


@pytest.fixture
def open311(client) -> Open311:  # type: ignore[no-untyped-def]
    return Open311(client)


@dataclass
class ApiClient:
    name: str
    key: str
    user_id: int
    community_id: int


@pytest.fixture
async def app_client(world: World) -> ApiClient:
    """A civic-tech app filing into community 1 (channel app)."""
    found, key = await service.issue_key("随手拍", world.tree.community(0).id, channel=Channel.APP)
    return ApiClient(found.name, key, found.user_id, found.community_id)


@pytest.fixture
async def hotline_client(world: World) -> ApiClient:
    """A 12345 hotline system filing into community 1 (channel hotline)."""
    found, key = await service.issue_key("12345热线", world.tree.community(0).id, channel=Channel.HOTLINE)
    return ApiClient(found.name, key, found.user_id, found.community_id)


__all__ = ["World", "point_in"]
