"""Import the org tree and households from CSV or Excel, all or nothing.

One row per household (or per unit, with the door number left empty). Every row is checked first; any bad row
rejects the whole file with a line-numbered report, and nothing is written. A good file is written in one
transaction; units are matched by name under their parent and households by building + door number, so
importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.db import atomic
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.org.schemas import ImportReport, ImportRowError
from backend.org.scope import Scope, ancestor_columns

HEADERS: dict[str, tuple[str, ...]] = {
    "street": ("街道", "street"),
    "community": ("社区", "community"),
    "grid": ("网格", "grid"),
    "compound": ("小区", "compound"),
    "building": ("楼栋", "楼号", "building"),
    "door_no": ("门牌号", "门牌", "door_no"),
    "address": ("地址", "address"),
    "contact_phone": ("联系电话", "电话", "phone"),
    "members_count": ("人口数", "人数", "members"),
    "is_elderly": ("高龄", "elderly"),
    "is_living_alone": ("独居", "空巢", "living_alone"),
    "is_disabled": ("残疾", "disabled"),
    "is_low_income": ("低保", "low_income"),
    "is_hardship": ("困难", "hardship"),
    "party_street": ("街道党工委",),
    "party_community": ("社区党组织",),
    "party_grid": ("网格党支部",),
    "party_compound": ("小区党小组",),
}
REQUIRED = ("street", "community", "grid", "building")
LEVELS = (OrgLevel.STREET, OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.COMPOUND, OrgLevel.BUILDING)
FLAGS = ("is_elderly", "is_living_alone", "is_disabled", "is_low_income", "is_hardship")
_TRUE = {"是", "1", "y", "yes", "true", "√", "有"}
_FALSE = {"否", "0", "n", "no", "false", "", "无"}
_PHONE = re.compile(r"^1[3-9]\d{9}$")
MAX_ROWS = 200_000


class ImportFileError(Exception):
    """The file itself cannot be read (format, encoding, missing columns)."""


@dataclass
class Row:
    line: int
    path: tuple[str | None, ...]  # street, community, grid, compound, building
    party: dict[OrgLevel, str] = field(default_factory=dict)
    door_no: str | None = None
    household: dict[str, Any] = field(default_factory=dict)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(data: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, {field: text}) from a .csv (UTF-8 or GBK) or .xlsx file."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(data)
    elif suffix in (".csv", ".txt"):
        raw = _read_csv(data)
    else:
        raise ImportFileError("只支持 .csv 或 .xlsx 文件")
    if not raw:
        raise ImportFileError("文件是空的")
    header, body = raw[0], raw[1:]
    if len(body) > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行")
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        for key, names in HEADERS.items():
            if _cell(title).lower() in {n.lower() for n in names}:
                columns[index] = key
    missing = [HEADERS[k][0] for k in REQUIRED if k not in columns.values()]
    if missing:
        raise ImportFileError("缺少必需的列：" + "、".join(missing))
    rows = []
    for offset, values in enumerate(body, start=2):
        record = {key: _cell(values[i]) if i < len(values) else "" for i, key in columns.items()}
        if any(record.values()):
            rows.append((offset, record))
    return rows


def _read_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("无法识别文件编码，请另存为 UTF-8 的 CSV")
    return [row for row in csv.reader(io.StringIO(text))]


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError("无法读取该 Excel 文件") from exc
    sheet = workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def parse(rows: Iterable[tuple[int, dict[str, str]]]) -> tuple[list[Row], list[ImportRowError]]:
    """Check every row; return the parsed rows and every problem found (with its line number)."""
    parsed: list[Row] = []
    errors: list[ImportRowError] = []
    seen_doors: dict[tuple[Any, ...], int] = {}

    def bad(line: int, message: str) -> None:
        errors.append(ImportRowError(line=line, message=message))

    for line, rec in rows:
        ok = True
        for key in REQUIRED:
            if not rec.get(key):
                bad(line, f"{HEADERS[key][0]}不能为空")
                ok = False
        for key in ("street", "community", "grid", "compound", "building"):
            if len(rec.get(key, "")) > 64:
                bad(line, f"{HEADERS[key][0]}名称超过 64 个字")
                ok = False
        door = rec.get("door_no") or None
        if door and len(door) > 32:
            bad(line, "门牌号超过 32 个字")
            ok = False
        household: dict[str, Any] = {}
        phone = rec.get("contact_phone", "")
        if phone:
            if not _PHONE.match(phone):
                bad(line, f"联系电话“{phone}”不是有效的手机号")
                ok = False
            household["contact_phone"] = phone
        if rec.get("address"):
            if len(rec["address"]) > 200:
                bad(line, "地址超过 200 个字")
                ok = False
            household["address"] = rec["address"]
        members = rec.get("members_count", "")
        if members:
            if not members.isdigit() or int(members) > 50:
                bad(line, f"人口数“{members}”应为 0–50 的整数")
                ok = False
            else:
                household["members_count"] = int(members)
        for flag in FLAGS:
            if flag not in rec:  # a file without the column leaves the flag as it was
                continue
            text = rec[flag].lower()
            if text in _TRUE:
                household[flag] = True
            elif text in _FALSE:
                household[flag] = False
            else:
                bad(line, f"{HEADERS[flag][0]}应填“是”或“否”，而不是“{rec[flag]}”")
                ok = False
        if not door and any(k not in FLAGS or v for k, v in household.items()):
            bad(line, "填写了住户信息却没有门牌号")
            ok = False
        path = tuple(rec.get(k) or None for k in ("street", "community", "grid", "compound", "building"))
        if door:
            key = (*path, door)
            if key in seen_doors:
                bad(line, f"与第 {seen_doors[key]} 行是同一户（门牌号重复）")
                ok = False
            seen_doors.setdefault(key, line)
        party = {
            level: rec[f"party_{level.value}"]
            for level in (OrgLevel.STREET, OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.COMPOUND)
            if rec.get(f"party_{level.value}")
        }
        if ok:
            parsed.append(Row(line=line, path=path, party=party, door_no=door, household=household))
    return parsed, errors


async def check_scope(rows: list[Row], scope: Scope) -> list[ImportRowError]:
    """For staff imports: every row's street must already exist and lie in the importer's scope."""
    if scope.everything:
        return []
    names = {row.path[0] for row in rows}
    streets = {u.name: u for u in await OrgUnit.filter(level=OrgLevel.STREET, parent_id=None, name__in=names)}
    errors = []
    for row in rows:
        street = streets.get(row.path[0] or "")
        if street is None or not scope.covers(street):
            errors.append(ImportRowError(line=row.line, message=f"街道“{row.path[0]}”不存在或不在您的管辖范围内"))
    return errors


async def apply(rows: list[Row], *, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Write checked rows in one transaction; idempotent for the same file."""
    created_units = created_households = updated_households = 0
    cache: dict[tuple[str | None, ...], OrgUnit] = {}

    async def ensure(path: tuple[str | None, ...], level: OrgLevel, parent: OrgUnit | None, party: str | None) -> OrgUnit:
        nonlocal created_units
        unit = cache.get(path)
        if unit is None:
            unit = await OrgUnit.get_or_none(parent_id=parent.id if parent else None, name=path[-1])
            if unit is None:
                unit = await OrgUnit.create(
                    level=level, name=path[-1], parent=parent, party_org_name=party,
                    **ancestor_columns(parent, level, None),
                )
                setattr(unit, level.column, unit.id)
                await unit.save(update_fields=[level.column])
                created_units += 1
            cache[path] = unit
        return unit

    async with atomic():
        pending: list[Household] = []
        existing: dict[int, dict[str, Household]] = {}
        for done, row in enumerate(rows, start=1):
            parent: OrgUnit | None = None
            for depth, level in enumerate(LEVELS):
                if row.path[depth] is None:
                    continue
                parent = await ensure(row.path[: depth + 1], level, parent, row.party.get(level))
            building = parent
            assert building is not None
            if row.door_no:
                if building.id not in existing:
                    existing[building.id] = {h.door_no: h for h in await Household.filter(building_id=building.id)}
                current = existing[building.id].get(row.door_no)
                if current is None:
                    columns = ancestor_columns(building, OrgLevel.BUILDING, building.id)
                    columns.pop("building_id")
                    current = Household(building=building, door_no=row.door_no, **columns, **row.household)
                    existing[building.id][row.door_no] = current
                    pending.append(current)
                    created_households += 1
                elif any(getattr(current, k) != v for k, v in row.household.items()):
                    current.update_from_dict(row.household)
                    await current.save(update_fields=[*row.household, "updated_at"])
                    updated_households += 1
            if len(pending) >= 500:
                await Household.bulk_create(pending)
                pending.clear()
            if progress:
                progress(done)
        if pending:
            await Household.bulk_create(pending)
    return ImportReport(
        units_created=created_units,
        households_created=created_households,
        households_updated=updated_households,
        rows=len(rows),
    )
