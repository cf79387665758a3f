"""The org tree: street → community → grid → compound → building, and households below buildings.

Invariant: every unit and household carries the ids of its ancestors at each level (``street_id`` …
``building_id``, its own id included at its own level). Scoping is then an indexed ``IN`` on one column,
never a recursive walk; ``backend.org.service`` keeps the columns right when units move.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models

APP = "core"

LEVEL_COLUMNS = ("street_id", "community_id", "grid_id", "compound_id", "building_id")


class OrgLevel(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    COMPOUND = "compound"
    BUILDING = "building"

    @property
    def column(self) -> str:
        return f"{self.value}_id"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def party_label(self) -> str:
        return PARTY_LABELS[self]


LEVEL_LABELS = {
    OrgLevel.STREET: "街道",
    OrgLevel.COMMUNITY: "社区",
    OrgLevel.GRID: "网格",
    OrgLevel.COMPOUND: "小区",
    OrgLevel.BUILDING: "楼栋",
}
PARTY_LABELS = {
    OrgLevel.STREET: "街道党工委",
    OrgLevel.COMMUNITY: "社区党组织",
    OrgLevel.GRID: "网格党支部",
    OrgLevel.COMPOUND: "小区党小组",
    OrgLevel.BUILDING: "楼栋党小组",
}
# Which levels may sit directly under which (a building may stand in a grid without a compound).
ALLOWED_PARENTS: dict[OrgLevel, tuple[OrgLevel | None, ...]] = {
    OrgLevel.STREET: (None,),
    OrgLevel.COMMUNITY: (OrgLevel.STREET,),
    OrgLevel.GRID: (OrgLevel.COMMUNITY,),
    OrgLevel.COMPOUND: (OrgLevel.GRID,),
    OrgLevel.BUILDING: (OrgLevel.COMPOUND, OrgLevel.GRID),
}


class ScopedColumns:
    """Ancestor ids at each level, shared by every row that org scoping filters (rows below buildings get
    ``building_id`` from their building foreign key)."""

    street_id = fields.BigIntField(null=True, db_index=True)
    community_id = fields.BigIntField(null=True, db_index=True)
    grid_id = fields.BigIntField(null=True, db_index=True)
    compound_id = fields.BigIntField(null=True)


class OrgUnit(models.Model, ScopedColumns):
    id = fields.BigIntField(primary_key=True)
    building_id = fields.BigIntField(null=True, db_index=True)
    level = fields.CharEnumField(OrgLevel, max_length=16)
    name = fields.CharField(max_length=64)
    code = fields.CharField(max_length=64, null=True, unique=True)
    parent: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "core.OrgUnit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    party_org_name = fields.CharField(max_length=64, null=True)
    address = fields.CharField(max_length=200, null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    boundary = fields.JSONField(null=True)  # grid polygon [[lng, lat], ...] in GCJ-02
    sort_order = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "org_unit"
        unique_together = (("parent_id", "name"),)

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A 职能部门 (城管, 房产中心, 供热…): outside the tree, summoned by whistles, serving one street."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    category = fields.CharField(max_length=32, null=True)
    street: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "core.OrgUnit", related_name="departments", null=True, on_delete=fields.RESTRICT
    )
    duty_phone = fields.CharField(max_length=20, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "department"
        unique_together = (("street_id", "name"),)


class Household(models.Model, ScopedColumns):
    """A household (户). Health, disability and income flags are sensitive: masked unless the role needs them."""

    id = fields.BigIntField(primary_key=True)
    building: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "core.OrgUnit", related_name="households", on_delete=fields.RESTRICT
    )
    door_no = fields.CharField(max_length=32)  # e.g. 2单元301
    address = fields.CharField(max_length=200, null=True)
    contact_phone = fields.CharField(max_length=20, null=True)
    members_count = fields.IntField(default=1, db_default=1)
    is_elderly = fields.BooleanField(default=False, db_default=False)  # 高龄
    is_living_alone = fields.BooleanField(default=False, db_default=False)  # 空巢 / 独居
    is_disabled = fields.BooleanField(default=False, db_default=False)  # 残疾
    is_low_income = fields.BooleanField(default=False, db_default=False)  # 低保
    is_hardship = fields.BooleanField(default=False, db_default=False)  # 困难
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "household"
        unique_together = (("building_id", "door_no"),)
