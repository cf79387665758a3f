"""Importing the tree and households from CSV / Excel: all or nothing, with a line-numbered report."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from openpyxl import Workbook

from backend.models.audit import AuditLog
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.user import Role
from tests.builders import auth_headers, make_unit, make_user

HEADER = "街道,社区,网格,小区,楼栋,门牌号,联系电话,人口数,高龄,独居,网格党支部\n"
GOOD = HEADER + (
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元101,13811110001,2,是,否,东岗社区第1网格党支部\n"
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元102,,1,否,是,\n"
    "导入街道,东岗社区,第2网格,,5号楼,3单元601,13811110002,3,否,否,\n"
    "导入街道,西岗社区,第1网格,和平里,2号楼,,,,,,\n"
)
BAD = HEADER + (
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元101,13811110001,2,是,否,\n"
    ",东岗社区,第1网格,幸福小区,1号楼,1单元103,,1,否,否,\n"          # line 3: no street
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元104,12345,1,否,否,\n"  # line 4: bad phone
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元105,,abc,否,否,\n"    # line 5: bad count
    "导入街道,东岗社区,第1网格,幸福小区,1号楼,1单元101,,1,也许,否,\n"    # line 6: duplicate + bad flag
)


def _xlsx(text: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for line in text.strip().splitlines():
        sheet.append([int(c) if c.isdigit() and len(c) < 3 else (c or None) for c in line.split(",")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
async def admin(settings):  # type: ignore[no-untyped-def]
    return await auth_headers(settings, await make_user(Role.ADMIN))


async def _upload(client, headers, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return await client.post("/api/v1/org/import", headers=headers, files={"file": (name, data)})


class TestImportApi:
    async def test_a_good_csv_builds_the_tree_and_households(self, client, admin):
        resp = await _upload(client, admin, "org.csv", GOOD.encode())
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"units_created": 11, "households_created": 3, "households_updated": 0, "rows": 4}
        grid = await OrgUnit.get(name="第1网格", parent__name="东岗社区")
        assert grid.party_org_name == "东岗社区第1网格党支部"
        standalone = await OrgUnit.get(name="5号楼")
        assert standalone.compound_id is None and standalone.grid_id is not None
        first = await Household.get(door_no="1单元101")
        assert first.is_elderly and not first.is_living_alone and first.members_count == 2
        assert first.street_id == (await OrgUnit.get(name="导入街道")).id
        assert await AuditLog.filter(action="org:import").exists()

    async def test_importing_the_same_file_twice_changes_nothing(self, client, admin):
        await _upload(client, admin, "org.csv", GOOD.encode())
        counts = (await OrgUnit.all().count(), await Household.all().count())
        again = await _upload(client, admin, "org.csv", GOOD.encode())
        assert again.json()["units_created"] == again.json()["households_created"] == 0
        assert (await OrgUnit.all().count(), await Household.all().count()) == counts

    async def test_changed_rows_update_existing_households(self, client, admin):
        await _upload(client, admin, "org.csv", GOOD.encode())
        changed = GOOD.replace("1单元101,13811110001,2,是", "1单元101,13811110009,4,是")
        resp = await _upload(client, admin, "org.csv", changed.encode())
        assert resp.json()["households_updated"] == 1
        assert (await Household.get(door_no="1单元101")).contact_phone == "13811110009"

    async def test_a_bad_file_imports_nothing_and_names_every_bad_line(self, client, admin):
        resp = await _upload(client, admin, "org.csv", BAD.encode())
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"] == "ImportRejected"
        lines = [e["line"] for e in body["detail"]]
        assert lines == [3, 4, 5, 6, 6]
        messages = " ".join(e["message"] for e in body["detail"])
        assert "街道不能为空" in messages and "12345" in messages and "第 2 行" in messages and "也许" in messages
        assert await OrgUnit.all().count() == 0 and await Household.all().count() == 0

    async def test_excel_works_like_csv(self, client, admin):
        resp = await _upload(client, admin, "org.xlsx", _xlsx(GOOD))
        assert resp.status_code == 200, resp.text
        assert resp.json()["households_created"] == 3

    async def test_gbk_csv_from_old_excel_is_read(self, client, admin):
        resp = await _upload(client, admin, "org.csv", GOOD.encode("gb18030"))
        assert resp.status_code == 200 and resp.json()["rows"] == 4

    @pytest.mark.parametrize(("name", "data", "fragment"), [
        ("org.pdf", b"%PDF", "只支持"),
        ("org.csv", b"", "空"),
        ("org.csv", "社区,网格\n东岗,1\n".encode(), "缺少必需的列"),
        ("org.xlsx", b"not a zip", "无法读取"),
    ])
    async def test_unreadable_files_are_a_400(self, client, admin, name, data, fragment):
        resp = await _upload(client, admin, name, data)
        assert resp.status_code == 400 and fragment in resp.json()["message"]

    async def test_street_staff_may_import_only_into_their_street(self, client, settings):
        own = await make_unit(OrgLevel.STREET, "导入街道")
        headers = await auth_headers(settings, await make_user(Role.STREET_STAFF, own))
        assert (await _upload(client, headers, "org.csv", GOOD.encode())).status_code == 200
        other = GOOD.replace("导入街道", "别的街道")
        resp = await _upload(client, headers, "org.csv", other.encode())
        assert resp.status_code == 422 and "别的街道" in resp.json()["detail"][0]["message"]
        assert not await OrgUnit.exists(name="别的街道")

    async def test_community_staff_cannot_import(self, client, settings):
        street = await make_unit(OrgLevel.STREET, "导入街道")
        community = await make_unit(OrgLevel.COMMUNITY, "东岗社区", street)
        headers = await auth_headers(settings, await make_user(Role.COMMUNITY_STAFF, community))
        assert (await _upload(client, headers, "org.csv", GOOD.encode())).status_code == 403


class TestImportCli:
    def _run(self, database, tmp_path, text: str):  # type: ignore[no-untyped-def]
        path = tmp_path / "org.csv"
        path.write_text(text, encoding="utf-8")
        env = {**os.environ, "JINLIN_DATABASE_URL": database.url, "JINLIN_ENV": "test",
               "JINLIN_SECRET_KEY": "x" * 40, "COLUMNS": "200"}
        return subprocess.run([sys.executable, "-m", "backend.cli", "import-org", str(path)],
                              capture_output=True, text=True, env=env, timeout=120)

    async def test_cli_imports_with_progress(self, database, tmp_path):
        result = self._run(database, tmp_path, GOOD)
        assert result.returncode == 0, result.stderr
        assert "导入中" in result.stdout and "4/4" in result.stdout
        assert "新增住户 3 户" in result.stdout
        assert await Household.all().count() == 3

    async def test_cli_lists_errors_by_line_and_exits_non_zero(self, database, tmp_path):
        result = self._run(database, tmp_path, BAD)
        assert result.returncode == 1
        assert "5 处错误" in result.stderr and "12345" in result.stderr
        assert await OrgUnit.all().count() == 0
