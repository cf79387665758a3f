"""GET services and service definitions: one service per report sub-category, in XML and JSON carrying the
same data, valid against the GeoReport v2 schemas; unknown codes and formats answered in the spec's error
format."""

from __future__ import annotations

from backend.reports.categories import taxonomy
from tests.open311.conftest import errors_of, validate


class TestServiceList:
    async def test_every_sub_category_is_a_realtime_service_grouped_by_its_top_category(self, open311):
        data, root, _ = await open311.both("services")
        validate("services.json", data)
        assert root.tag == "services" and {child.tag for child in root} == {"service"}
        assert [s["service_code"] for s in data] == list(taxonomy().by_code)
        garbage = next(s for s in data if s["service_code"] == "sanitation.garbage")
        assert garbage["service_name"] == "垃圾清运不及时"
        assert garbage["group"] == "环境卫生"
        assert garbage["metadata"] is False and garbage["type"] == "realtime"
        assert "垃圾清运不及时" in garbage["keywords"] and "sanitation" in garbage["keywords"]
        assert "网格" in garbage["description"] and "4 小时内受理" in garbage["description"]
        manhole = next(s for s in data if s["service_code"] == "facilities.manhole")
        # The sub-category's own level and clocks.
        assert "由社区受理：2 小时内受理，1 天内办结" in manhole["description"]

    async def test_jurisdiction_id_is_accepted_and_ignored(self, open311):
        with_id = (await open311.get("services", jurisdiction_id="lanzhou.gov.cn")).json()
        assert with_id == (await open311.get("services")).json()

    async def test_an_unknown_format_is_refused_in_xml(self, open311):
        resp = await open311.get("services", "html", expect=400)
        assert resp.headers["content-type"].startswith("text/xml")
        assert "xml" in errors_of(resp)[0]["description"]


class TestServiceDefinition:
    async def test_a_category_without_attributes_has_an_empty_definition(self, open311):
        data, root, _ = await open311.both("services/sanitation.garbage")
        validate("service-definition.json", data)
        assert data == {"service_code": "sanitation.garbage", "attributes": []}
        assert root.tag == "service_definition"
        assert root.findtext("service_code") == "sanitation.garbage"
        assert root.find("attributes") is not None and len(root.find("attributes")) == 0

    async def test_an_unknown_service_code_is_404_in_both_formats(self, open311):
        for fmt in ("json", "xml"):
            resp = await open311.get("services/sanitation.nothing", fmt, expect=404)
            assert "service_code" in errors_of(resp)[0]["description"]
        # A top category is a group, not a service.
        await open311.get("services/sanitation", "xml", expect=404)


class TestUnknownPaths:
    async def test_paths_outside_the_spec_answer_in_the_spec_format(self, open311, client):
        for path in ("/open311/v2/nothing.xml", "/open311/v2/requests", "/open311/v2/request/1.json"):
            resp = await client.get(path)
            assert resp.status_code == 404, path
            errors_of(resp)
        as_json = await client.get("/open311/v2/nothing.json")
        assert as_json.headers["content-type"].startswith("application/json")
        tokens = await client.get("/open311/v2/tokens/123.xml")
        assert tokens.status_code == 400 and "token" in errors_of(tokens)[0]["description"]
        wrong_method = await client.delete("/open311/v2/services.xml")
        assert wrong_method.status_code == 404
        errors_of(wrong_method)
