"""GET requests and GET requests/{id}: reports as the spec's service requests — status mapping, the fields
the clocks and the handling unit give, the filters, dates and their errors — and nothing the public board
does not already show."""

from __future__ import annotations

from datetime import timedelta

from backend.core.timeutil import to_local, utcnow
from backend.models.reports import Report
from backend.open311.geo import wgs84_to_gcj02
from tests.open311.conftest import assert_w3c, errors_of, validate
from tests.reports.conftest import point_in


async def _states(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One report in each state that matters: new, accepted, resolved (public note with a phone and a door
    number), closed (rated 5), withdrawn, and one in grid 2 filed under another category."""
    new = (await world.report(description="新的"))["id"]
    accepted = (await world.report(description="受理了"))["id"]
    resolved = (await world.report(description="办结了"))["id"]
    closed = (await world.report(description="结案了"))["id"]
    withdrawn = (await world.report(description="撤回了"))["id"]
    lamp = (
        await world.report("resident_b", category="facilities.streetlight", description="灯", **point_in(1))
    )["id"]
    await world.act("grid_worker", accepted, "accept")
    await world.act(
        "grid_worker", resolved, "resolve", note="已清运", public_note="已清运，有事打13912345678，3号楼"
    )
    await world.act("grid_worker", closed, "resolve", note="已清运", public_note="已清运")
    await world.act("resident", closed, "rate", score=5)
    await world.act("resident", withdrawn, "withdraw")
    return {
        "new": new,
        "accepted": accepted,
        "resolved": resolved,
        "closed": closed,
        "withdrawn": withdrawn,
        "lamp": lamp,
    }


def _by_id(data: list[dict]) -> dict[int, dict]:
    return {int(r["service_request_id"]): r for r in data}


class TestList:
    async def test_reports_as_service_requests_in_both_formats(self, world, open311):
        ids = await _states(world)
        data, root, _ = await open311.both("requests")
        validate("requests.json", data)
        assert root.tag == "service_requests" and {c.tag for c in root} == {"request"}
        newest_first = sorted(ids.values(), reverse=True)
        assert [int(r["service_request_id"]) for r in data] == newest_first
        rows = _by_id(data)
        assert {k: rows[v]["status"] for k, v in ids.items()} == {
            "new": "open",
            "accepted": "open",
            "resolved": "closed",
            "closed": "closed",
            "withdrawn": "closed",
            "lamp": "open",
        }
        assert rows[ids["new"]]["status_notes"] == "待受理"
        assert rows[ids["accepted"]]["status_notes"] == "办理中"
        assert rows[ids["resolved"]]["status_notes"] == "已清运，有事打***，**"  # the board's masking
        assert rows[ids["withdrawn"]]["status_notes"] == "已撤回"
        assert rows[ids["lamp"]]["service_code"] == "facilities.streetlight"
        assert rows[ids["lamp"]]["service_name"] == "路灯不亮"
        assert rows[ids["new"]]["agency_responsible"] == world.grid(0, 0).name
        assert rows[ids["lamp"]]["agency_responsible"] == world.grid(0, 1).name
        assert rows[ids["new"]]["address"] == f"{world.tree.community(0).name}，{world.tree.street.name}"

    async def test_the_clocks_give_the_notice_and_the_expected_and_updated_times(self, world, open311):
        ids = await _states(world)
        rows = _by_id((await open311.get("requests")).json())
        new = await Report.get(id=ids["new"])
        accepted = await Report.get(id=ids["accepted"])
        closed = await Report.get(id=ids["closed"])
        resolved = await Report.get(id=ids["resolved"])
        # Waiting: accept within 4 h at the grid, then 2 days to resolve (sanitation's grid clocks).
        assert assert_w3c(rows[new.id]["expected_datetime"]) == (new.due_at + timedelta(days=2)).replace(
            microsecond=0
        )
        assert rows[new.id]["service_notice"] == "由网格受理：4 小时内受理，2 天内办结；超时自动上报上一级。"
        assert assert_w3c(rows[accepted.id]["expected_datetime"]) == accepted.due_at.replace(microsecond=0)
        assert assert_w3c(rows[new.id]["requested_datetime"]) == new.created_at.replace(microsecond=0)
        assert assert_w3c(rows[closed.id]["updated_datetime"]) == closed.closed_at.replace(microsecond=0)
        assert assert_w3c(rows[resolved.id]["updated_datetime"]) == resolved.resolved_at.replace(
            microsecond=0
        )
        for finished in (closed, resolved):
            assert (
                rows[finished.id]["expected_datetime"] is None and rows[finished.id]["service_notice"] is None
            )

    async def test_an_escalated_report_is_answered_for_by_the_community(self, world, open311):
        rid = (await world.report())["id"]
        await world.act("grid_worker", rid, "escalate", reason="网格处理不了")
        [row] = (await open311.get(f"requests/{rid}")).json()
        assert row["agency_responsible"] == world.tree.community(0).name
        assert row["service_notice"].startswith("由社区受理：8 小时内受理")
        assert row["status"] == "open"

    async def test_a_reopened_report_is_open_again(self, world, open311):
        rid = (await world.report())["id"]
        await world.act("grid_worker", rid, "resolve", note="已处理")
        assert (await open311.get(f"requests/{rid}")).json()[0]["status"] == "closed"
        await world.act("resident", rid, "rate", score=1)
        assert (await open311.get(f"requests/{rid}")).json()[0]["status"] == "open"


class TestFilters:
    async def test_status_and_service_code_filters(self, world, open311):
        ids = await _states(world)
        open_ids = {
            int(r["service_request_id"]) for r in (await open311.get("requests", status="open")).json()
        }
        assert open_ids == {ids["new"], ids["accepted"], ids["lamp"]}
        closed = await open311.both("requests", status="closed")
        assert {int(r["service_request_id"]) for r in closed[0]} == {
            ids["resolved"],
            ids["closed"],
            ids["withdrawn"],
        }
        both = (await open311.get("requests", status="open,closed")).json()
        assert len(both) == len(ids)
        lamps = (await open311.get("requests", service_code="facilities.streetlight")).json()
        assert [int(r["service_request_id"]) for r in lamps] == [ids["lamp"]]
        repeated = await open311.client.get(
            "/open311/v2/requests.json",
            params=[("service_code", "facilities.streetlight"), ("service_code", "sanitation.garbage")],
        )
        assert len(repeated.json()) == len(ids)

    async def test_ids_override_every_other_filter(self, world, open311):
        ids = await _states(world)
        wanted = f"{ids['closed']},{ids['new']},999999"
        data, _, _ = await open311.both(
            "requests",
            service_request_id=wanted,
            status="open",
            service_code="facilities.streetlight",
            start_date="2000-01-01T00:00:00Z",
            end_date="2000-01-02T00:00:00Z",
        )
        validate("requests.json", data)
        assert {int(r["service_request_id"]) for r in data} == {ids["closed"], ids["new"]}

    async def test_the_window_defaults_to_the_last_90_days(self, world, open311):
        old = (await world.report(description="很久以前"))["id"]
        recent = (await world.report(description="最近"))["id"]
        await Report.filter(id=old).update(created_at=utcnow() - timedelta(days=100))
        assert [int(r["service_request_id"]) for r in (await open311.get("requests")).json()] == [recent]
        start = (utcnow() - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (utcnow() - timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%SZ")
        data, _, _ = await open311.both("requests", start_date=start, end_date=end)
        assert [int(r["service_request_id"]) for r in data] == [old]
        only_start = (await open311.get("requests", start_date=start)).json()  # 90 days from the start
        assert [int(r["service_request_id"]) for r in only_start] == [old]

    async def test_dates_in_every_w3c_form(self, world, open311):
        rid = (await world.report())["id"]
        today = utcnow()
        local = to_local(today)  # a bare date is a day in Beijing (from 16:00 UTC it is already tomorrow there)
        for start, end in [
            (
                (local - timedelta(days=1)).strftime("%Y-%m-%d"),
                (local + timedelta(days=1)).strftime("%Y-%m-%d"),
            ),
            ((today - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00"), None),
            ((today - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.123Z"), None),
        ]:
            params = {"start_date": start, **({"end_date": end} if end else {})}
            got = (await open311.get("requests", **params)).json()
            assert [int(r["service_request_id"]) for r in got] == [rid], params
        # A "+" sent unencoded arrives as a space: read as the offset it was.
        offset = (today + timedelta(hours=8) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        resp = await open311.client.get(f"/open311/v2/requests.json?start_date={offset}+08:00")
        assert [int(r["service_request_id"]) for r in resp.json()] == [rid]

    async def test_bad_dates_and_filters_are_400_in_the_spec_format(self, world, open311):
        await world.report()
        cases = [
            {"start_date": "yesterday"},
            {"end_date": "2026-02-30T00:00:00Z"},
            {"start_date": "2026-11-01T00:00:00"},  # no zone
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # more than 90 days
            {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},  # backwards
            {"status": "pending"},
            {"service_code": "sanitation.nothing"},
            {"service_request_id": "12,abc"},
        ]
        for params in cases:
            for fmt in ("json", "xml"):
                resp = await open311.get("requests", fmt, expect=400, **params)
                [error] = errors_of(resp)
                assert next(iter(params)) in error["description"] or "service_code" in error["description"], (
                    params,
                    error,
                )

    async def test_empty_parameters_count_as_absent(self, world, open311):
        await world.report()
        assert (await open311.get("requests", status="", service_code="", start_date="")).json() == (
            await open311.get("requests")
        ).json()

    async def test_at_most_1000(self, world, open311):
        template = await Report.get(id=(await world.report())["id"])
        keep = {f: getattr(template, f) for f in template._meta.db_fields if f != "id"}
        await Report.bulk_create([Report(**keep) for _ in range(1005)], batch_size=500)
        data = (await open311.get("requests")).json()
        assert len(data) == 1000
        newest = await Report.all().order_by("-id").first()
        assert int(data[0]["service_request_id"]) == newest.id


class TestOne:
    async def test_the_spec_path_answers_a_list_of_one(self, world, open311):
        rid = (await world.report())["id"]
        data, root, _ = await open311.both(f"requests/{rid}")
        validate("requests.json", data)
        validate("request.json", data[0])
        assert len(data) == 1 and data[0]["service_request_id"] == str(rid)
        assert root.tag == "service_requests" and root.find("request/service_request_id").text == str(rid)

    async def test_unknown_ids_are_404_and_swagger_s_singular_path_is_not_served(
        self, world, open311, client
    ):
        rid = (await world.report())["id"]
        for path in ("requests/999999", "requests/abc", "requests/-1", f"request/{rid}"):
            for fmt in ("json", "xml"):
                errors_of(await open311.get(path, fmt, expect=404))
        assert (await client.get(f"/open311/v2/requests/{rid}")).status_code == 404  # the format is required


class TestPrivacy:
    async def test_nothing_leaves_but_what_the_board_shows(self, world, open311):
        resident = world["resident"]
        rid = (
            await world.report(
                description=f"我是{resident.name}，电话{resident.phone}，幸福路12号3单元501门口堆了垃圾",
                address="幸福路12号3单元501",
            )
        )["id"]
        await world.act(
            "grid_worker", rid, "resolve", note=f"已联系{resident.name}", public_note="已清运 13912345678"
        )
        household = world.tree.household(0, 0, 0)
        data, _, text = await open311.both("requests")
        one = (await open311.both(f"requests/{rid}"))[2]
        for leaked in (
            resident.name,
            resident.phone,
            "幸福路",
            "3单元501",
            "13912345678",
            household.address,
            household.door_no,
            world["grid_worker"].name,
            "已联系",
        ):
            assert leaked not in text and leaked not in one, leaked
        [row] = data
        assert row["description"] is None and row["media_url"] is None and row["address_id"] is None

    async def test_positions_are_the_board_s_snapped_ones_in_wgs84(self, world, open311):
        rid = (await world.report(lat=36.00731, lng=103.70262))["id"]
        [row] = (await open311.get(f"requests/{rid}")).json()
        board = (await world.client.get(f"/api/v1/reports/board/{world.tree.community(0).id}/rows")).json()[
            "items"
        ]
        line = next(r for r in board if r["report_id"] == rid)
        back = wgs84_to_gcj02(row["lat"], row["long"])
        assert abs(back[0] - line["lat"]) < 1e-5 and abs(back[1] - line["lng"]) < 1e-5
        assert (line["lat"], line["lng"]) == (36.005, 103.705)
        # WGS-84 lies a few hundred metres from GCJ-02 in Lanzhou: the output is not the stored coordinates.
        assert abs(row["long"] - line["lng"]) > 0.002

    async def test_a_report_without_a_position_has_none(self, world, open311):
        rid = (await world.report(lat=None, lng=None, building_id=world.tree.building(0, 0).id))["id"]
        [row] = (await open311.get(f"requests/{rid}")).json()
        assert row["lat"] is None and row["long"] is None
        validate("request.json", row)


class TestText:
    async def test_markup_and_control_characters_survive_xml_and_match_json(self, world, open311):
        grid = world.grid(0, 0)
        grid.name = "一&二<网格>"
        await grid.save(update_fields=["name"])
        rid = (await world.report())["id"]
        await world.act("grid_worker", rid, "resolve", note="好", public_note="已处理\x01完毕 & <ok>")
        data, root, _ = await open311.both(f"requests/{rid}")  # parses, and carries the same as the JSON
        assert data[0]["status_notes"] == "已处理完毕 & <ok>"
        assert root.findtext("request/agency_responsible") == "一&二<网格>"
