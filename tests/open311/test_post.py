"""POST requests: an API key issued to a client organisation files a report through the reports service, as
the client, in its community; bad keys are 403 and bad input 400 in the spec's error format, writing nothing;
a retried POST with the same Idempotency-Key files once."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from backend.models.media import MediaFile
from backend.models.notifications import InboxItem
from backend.models.open311 import Open311Request
from backend.models.reports import Channel, Level, Report, ReportEvent
from backend.open311 import service
from backend.open311.geo import gcj02_to_wgs84
from tests.open311.conftest import errors_of, validate
from tests.reports.conftest import point_in

# The spec's example request, in Lanzhou: grid c0g0's square (GCJ-02) given in WGS-84 as a client would.
INSIDE_GRID = gcj02_to_wgs84(point_in(0)["lat"], point_in(0)["lng"])


def spec_example(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "jurisdiction_id": "lanzhou.gov.cn",
        "service_code": "sanitation.garbage",
        "lat": f"{INSIDE_GRID[0]:.7f}",
        "long": f"{INSIDE_GRID[1]:.7f}",
        "address_string": "七里河区 幸福路12号",
        "email": "zhangsan@example.com",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "三",
        "last_name": "张",
        "phone": "13900001111",
        "description": "垃圾三天没人清运了",
        "media_url": "http://img.example.com/2212426634_5ed477a060.jpg",
        "attribute[WHISPAWN]": "123456",
        **extra,
    }


class TestApiKey:
    async def test_no_wrong_or_revoked_key_is_403_and_files_nothing(self, world, open311, app_client):
        body = spec_example(app_client.key)
        for fmt in ("json", "xml"):
            errors_of(await open311.post(fmt, expect=403, **{**body, "api_key": ""}))
            errors_of(
                await open311.post(fmt, expect=403, **{k: v for k, v in body.items() if k != "api_key"})
            )
            errors_of(await open311.post(fmt, expect=403, **{**body, "api_key": app_client.key + "x"}))
        await service.revoke(app_client.name)
        assert "停用" in errors_of(await open311.post(expect=403, **body))[0]["description"]
        assert await Report.all().count() == 0 and await Open311Request.all().count() == 0

    async def test_the_key_is_checked_before_the_input(self, world, open311):
        resp = await open311.post("xml", expect=403, service_code="nothing", api_key="guess")
        errors_of(resp)

    async def test_the_key_may_come_in_the_query_string(self, world, open311, app_client):
        body = {k: v for k, v in spec_example(app_client.key).items() if k != "api_key"}
        resp = await open311.client.post(f"/open311/v2/requests.json?api_key={app_client.key}", data=body)
        assert resp.status_code == 200, resp.text

    async def test_rotating_a_key_retires_the_old_one(self, world, open311, app_client):
        _, new_key = await service.issue_key(app_client.name, app_client.community_id, rotate=True)
        errors_of(await open311.post(expect=403, **spec_example(app_client.key)))
        await open311.post(**spec_example(new_key))


class TestFiling:
    async def test_the_spec_example_files_a_report_as_the_client(self, world, open311, app_client):
        resp = await open311.post(**spec_example(app_client.key))
        [created] = resp.json()
        assert set(created) == {"service_request_id", "service_notice", "account_id"}
        assert created["account_id"] == "123456"
        assert created["service_notice"].startswith("由网格受理：4 小时内受理")
        report = await Report.get(id=int(created["service_request_id"]))
        assert report.category == "sanitation.garbage" and Channel(report.channel) is Channel.APP
        assert report.reporter_id == app_client.user_id and report.filed_by_id is None
        # Routed by the point, converted to GCJ-02.
        assert report.grid_id == world.grid(0, 0).id and Level(report.level) is Level.GRID
        assert abs(report.lat - point_in(0)["lat"]) < 1e-6 and abs(report.lng - point_in(0)["lng"]) < 1e-6
        assert report.address == "七里河区 幸福路12号"
        assert report.description.startswith("垃圾三天没人清运了")
        assert "http://img.example.com/2212426634_5ed477a060.jpg" in report.description  # a note, not fetched
        assert await MediaFile.all().count() == 0
        [event] = await ReportEvent.filter(report_id=report.id)
        assert (
            event.action == "submit"
            and event.actor_id == app_client.user_id
            and event.on_behalf_of_id is None
        )
        extra = await Open311Request.get(report_id=report.id)
        assert (extra.phone, extra.email, extra.first_name, extra.last_name, extra.device_id) == (
            "13900001111",
            "zhangsan@example.com",
            "三",
            "张",
            "tt222111",
        )
        # And what the world then sees of it: the board's view, not what the client sent about the person.
        data, _, text = await open311.both(f"requests/{report.id}")
        validate("requests.json", data)
        for private in ("13900001111", "zhangsan", "张", "幸福路", "垃圾三天", "img.example.com", "tt222111"):
            assert private not in text, private

    async def test_the_xml_answer_carries_the_same(self, world, open311, app_client):
        resp = await open311.post("xml", **spec_example(app_client.key))
        assert resp.headers["content-type"] == "text/xml; charset=utf-8"
        root = ET.fromstring(resp.content)
        assert root.tag == "service_requests"
        request = root.find("request")
        assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
        assert await Report.filter(id=int(request.findtext("service_request_id"))).exists()

    async def test_an_address_alone_goes_to_the_client_s_community_queue(self, world, open311, app_client):
        body = {k: v for k, v in spec_example(app_client.key).items() if k not in ("lat", "long")}
        [created] = (await open311.post(**body)).json()
        report = await Report.get(id=int(created["service_request_id"]))
        assert report.community_id == world.tree.community(0).id and report.grid_id is None
        assert Level(report.level) is Level.COMMUNITY and report.lat is None
        assert created["service_notice"].startswith("由社区受理")

    async def test_a_hotline_client_files_on_the_hotline_channel(self, world, open311, hotline_client):
        [created] = (await open311.post(**spec_example(hotline_client.key))).json()
        report = await Report.get(id=int(created["service_request_id"]))
        assert Channel(report.channel) is Channel.HOTLINE and report.reporter_id == hotline_client.user_id

    async def test_json_bodies_are_accepted_too(self, world, open311, app_client):
        body = {**spec_example(app_client.key), "lat": INSIDE_GRID[0], "long": INSIDE_GRID[1]}
        body.pop("attribute[WHISPAWN]")
        body["attribute"] = {"WHISPAWN": "123456", "MULTI": ["a", "b"]}
        [created] = (await open311.post(json_body=body)).json()
        assert (await Report.get(id=int(created["service_request_id"]))).grid_id == world.grid(0, 0).id

    async def test_the_grid_team_is_told_and_the_service_account_is_in_no_team(
        self, world, open311, app_client
    ):
        await open311.post(**spec_example(app_client.key))
        told = set(await InboxItem.filter(kind="report.created").values_list("user_id", flat=True))
        assert told == {world["grid_worker"].id, world["grid_leader"].id}
        await open311.post(
            **{k: v for k, v in spec_example(app_client.key).items() if k not in ("lat", "long")}
        )
        told = set(await InboxItem.filter(kind="report.created").values_list("user_id", flat=True))
        assert app_client.user_id not in told and world["community_staff"].id in told

    async def test_the_same_idempotency_key_files_once(self, world, open311, app_client):
        body = spec_example(app_client.key)
        headers = {"Idempotency-Key": "open311-retry-1"}
        first = await open311.post(headers=headers, **body)
        again = await open311.post(headers=headers, **body)
        assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
        assert await Report.all().count() == 1


class TestBadInput:
    async def test_bad_fields_are_400_per_field_and_write_nothing(self, world, open311, app_client):
        key = app_client.key
        cases = {
            "service_code": {"service_code": ""},
            "lat": {"long": ""},
            "位置": {"lat": "", "long": "", "address_string": ""},
            "纬度": {"lat": "abc"},
            "media_url": {"media_url": "javascript:alert(1)"},
            "email": {"email": "not-an-email"},
            "phone": {"phone": "call me"},
            "description": {"description": "很" * 1001},
            "中国境内": {"lat": "48.8566", "long": "2.3522"},  # Paris: outside the service area
        }
        for expected, change in cases.items():
            for fmt in ("json", "xml"):
                resp = await open311.post(fmt, expect=400, **{**spec_example(key), **change})
                descriptions = " ".join(e["description"] for e in errors_of(resp))
                assert expected in descriptions or (expected == "纬度" and "lat" in descriptions), (
                    change,
                    descriptions,
                )
        assert await Report.all().count() == 0 and await Open311Request.all().count() == 0

    async def test_an_unknown_service_code_is_404(self, world, open311, app_client):
        resp = await open311.post("xml", expect=404, **spec_example(app_client.key, service_code="x.y"))
        assert "service_code" in errors_of(resp)[0]["description"]

    async def test_malformed_bodies_are_400(self, world, open311, app_client):
        url = "/open311/v2/requests.json"
        for content, ctype in [
            (b"{", "application/json"),
            (b"[1]", "application/json"),
            (b'{"api_key": {"x": 1}}', "application/json"),
        ]:
            resp = await open311.client.post(url, content=content, headers={"Content-Type": ctype})
            assert resp.status_code in (400, 403), resp.text
            errors_of(resp)
        upload = await open311.client.post(
            url, data=spec_example(app_client.key), files={"photo": ("a.jpg", b"\xff\xd8", "image/jpeg")}
        )
        assert upload.status_code == 400
        errors_of(upload)
        assert await Report.all().count() == 0
