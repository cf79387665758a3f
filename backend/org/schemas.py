"""Bodies of the org routes: units of the tree, households, departments, imports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.auth.schemas import PHONE_PATTERN
from backend.core.timeutil import LocalDatetime
from backend.models.org import OrgLevel

Name = Field(min_length=1, max_length=64)
Lat = Field(default=None, ge=-90, le=90, description="纬度（GCJ-02）")
Lng = Field(default=None, ge=-180, le=180, description="经度（GCJ-02）")


def _check_polygon(value: list[list[float]] | None) -> list[list[float]] | None:
    if value is None:
        return None
    for point in value:
        if len(point) != 2 or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            raise ValueError("边界坐标应为 [经度, 纬度]，且在有效范围内")
    return value


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: OrgLevel
    name: str = Name
    parent_id: int | None = Field(default=None, gt=0)
    code: str | None = Field(default=None, min_length=1, max_length=64)
    party_org_name: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)
    lat: float | None = Lat
    lng: float | None = Lng
    boundary: list[list[float]] | None = Field(default=None, min_length=3, max_length=2000)
    sort_order: int = Field(default=0, ge=0, le=100000)

    _polygon = field_validator("boundary")(_check_polygon)


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    code: str | None = Field(default=None, min_length=1, max_length=64)
    party_org_name: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)
    lat: float | None = Lat
    lng: float | None = Lng
    boundary: list[list[float]] | None = Field(default=None, min_length=3, max_length=2000)
    sort_order: int | None = Field(default=None, ge=0, le=100000)

    _polygon = field_validator("boundary")(_check_polygon)


class UnitOut(BaseModel):
    id: int
    level: OrgLevel
    level_label: str
    name: str
    code: str | None
    parent_id: int | None
    path: str = Field(description="上级名称链，如：土门墩街道 / 土门墩社区 / 第1网格")
    party_org_name: str | None
    address: str | None
    lat: float | None
    lng: float | None
    has_boundary: bool
    sort_order: int
    created_at: LocalDatetime


class Flags(BaseModel):
    is_elderly: bool = False
    is_living_alone: bool = False
    is_disabled: bool = False
    is_low_income: bool = False
    is_hardship: bool = False


class HouseholdCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: int = Field(gt=0)
    door_no: str = Field(min_length=1, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    members_count: int = Field(default=1, ge=0, le=50)
    flags: Flags = Field(default_factory=Flags)


class HouseholdUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    door_no: str | None = Field(default=None, min_length=1, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    members_count: int | None = Field(default=None, ge=0, le=50)
    flags: Flags | None = None


class HouseholdOut(BaseModel):
    id: int
    building_id: int
    label: str = Field(description="楼栋与门牌，如：3号楼 2单元301")
    door_no: str
    address: str | None = Field(description="默认脱敏")
    contact_phone: str | None = Field(description="默认脱敏")
    members_count: int
    flags: Flags | None = Field(description="健康、残疾、低保等敏感状况；仅在 reveal=true 时返回")
    masked: bool
    created_at: LocalDatetime


class PlaceRef(BaseModel):
    id: int
    name: str


class BuildingRef(PlaceRef):
    lat: float | None = Field(description="楼栋位置纬度（GCJ-02，与 wx.getLocation 相同）")
    lng: float | None = Field(description="楼栋位置经度（GCJ-02）")


class MyHouseholdOut(BaseModel):
    """A resident's own household and where it is (building picker, "near me"); masked like any other."""

    id: int
    label: str = Field(description="楼栋与门牌，如：3号楼 2单元301")
    door_no: str
    address: str | None = Field(description="已脱敏")
    contact_phone: str | None = Field(description="已脱敏")
    members_count: int
    building: BuildingRef
    compound: PlaceRef | None
    grid: PlaceRef | None
    community: PlaceRef | None
    street: PlaceRef | None


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name
    category: str | None = Field(default=None, max_length=32)
    street_id: int = Field(gt=0)
    duty_phone: str | None = Field(default=None, max_length=20)


class DepartmentOut(BaseModel):
    id: int
    name: str
    category: str | None
    street_id: int | None
    duty_phone: str | None


class ImportRowError(BaseModel):
    line: int
    message: str


class ImportReport(BaseModel):
    units_created: int
    households_created: int
    households_updated: int
    rows: int


def unit_out(unit, names: dict[int, str]) -> UnitOut:  # type: ignore[no-untyped-def]
    """Present a unit with its breadcrumb (``names`` maps ancestor ids to names)."""
    level = OrgLevel(unit.level)
    chain = [names.get(getattr(unit, lv.column)) for lv in OrgLevel if lv is not level and getattr(unit, lv.column)]
    path = " / ".join([n for n in chain if n] + [unit.name])
    return UnitOut(
        id=unit.id,
        level=level,
        level_label=level.label,
        name=unit.name,
        code=unit.code,
        parent_id=unit.parent_id,
        path=path,
        party_org_name=unit.party_org_name,
        address=unit.address,
        lat=unit.lat,
        lng=unit.lng,
        has_boundary=bool(unit.boundary),
        sort_order=unit.sort_order,
        created_at=unit.created_at,
    )


def ancestor_ids(units) -> set[int]:  # type: ignore[no-untyped-def]
    return {getattr(u, lv.column) for u in units for lv in OrgLevel if getattr(u, lv.column)}


def household_out(household, *, revealed: bool) -> HouseholdOut:  # type: ignore[no-untyped-def]
    from backend.core.privacy import mask_address, mask_phone

    return HouseholdOut(
        id=household.id,
        building_id=household.building_id,
        label=f"{household.building.name} {household.door_no}",
        door_no=household.door_no,
        address=household.address if revealed else mask_address(household.address),
        contact_phone=household.contact_phone if revealed else mask_phone(household.contact_phone),
        members_count=household.members_count,
        flags=Flags(**{k: getattr(household, k) for k in Flags.model_fields}) if revealed else None,
        masked=not revealed,
        created_at=household.created_at,
    )


def my_household_out(household, names: dict[int, str]) -> MyHouseholdOut:  # type: ignore[no-untyped-def]
    """The resident's own household (``household.building`` loaded; ``names`` maps ancestor ids to names).
    Contact details stay masked: residents are not among the roles that may reveal them."""
    from backend.core.privacy import mask_address, mask_phone

    def ref(unit_id: int | None) -> PlaceRef | None:
        return PlaceRef(id=unit_id, name=names[unit_id]) if unit_id and unit_id in names else None

    building = household.building
    return MyHouseholdOut(
        id=household.id,
        label=f"{building.name} {household.door_no}",
        door_no=household.door_no,
        address=mask_address(household.address),
        contact_phone=mask_phone(household.contact_phone),
        members_count=household.members_count,
        building=BuildingRef(id=building.id, name=building.name, lat=building.lat, lng=building.lng),
        compound=ref(household.compound_id),
        grid=ref(household.grid_id),
        community=ref(household.community_id),
        street=ref(household.street_id),
    )


def department_out(department) -> DepartmentOut:  # type: ignore[no-untyped-def]
    return DepartmentOut(
        id=department.id,
        name=department.name,
        category=department.category,
        street_id=department.street_id,
        duty_phone=department.duty_phone,
    )
