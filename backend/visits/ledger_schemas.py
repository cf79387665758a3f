"""Shapes of the resident ledger (住户台账): household facts visitors keep, with masked sensitive fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from backend.auth.schemas import PHONE_PATTERN
from backend.core.timeutil import LocalDatetime
from backend.visits.schemas import Strict

ID_NUMBER_PATTERN = r"^\d{17}[\dXx]$"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def _id_number(value: str) -> str:
    """GB 11643 check digit (a masked value sent back, or a typo, is refused rather than stored)."""
    value = value.upper()
    if CHECK[sum(int(d) * w for d, w in zip(value[:17], WEIGHTS, strict=True)) % 11] != value[17]:
        raise ValueError("身份证号校验位不正确")
    return value


def _not_masked(value: str) -> str:
    if set(value) <= {"*"}:
        raise ValueError("不能提交脱敏后的内容")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
IdNumber = Annotated[str, StringConstraints(pattern=ID_NUMBER_PATTERN), AfterValidator(_id_number)]
Phone = Annotated[str, StringConstraints(pattern=PHONE_PATTERN)]
Status = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                   AfterValidator(_not_masked)]


class ProfileIn(Strict):
    """Only the fields sent change (null clears one). ``version``: the ledger version you saw (0: none yet)."""

    version: Annotated[int, Field(ge=0, le=2**31)]
    people_living: Annotated[int | None, Field(ge=0, le=50, description="实际居住人数")] = None
    head_name: Name | None = None
    head_id_number: IdNumber | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    health_status: Status | None = None
    disability_status: Status | None = None
    special_situation: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None


class MemberIn(Strict):
    name: Name
    relation: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] = None
    birth_year: Annotated[int | None, Field(ge=1900, le=2100)] = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    health_status: Status | None = None
    disability_status: Status | None = None
    living_here: bool = True


class MemberPatch(Strict):
    version: Annotated[int, Field(ge=1, le=2**31)]
    name: Name | None = None
    relation: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] = None
    birth_year: Annotated[int | None, Field(ge=1900, le=2100)] = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    health_status: Status | None = None
    disability_status: Status | None = None
    living_here: bool | None = None


class MemberOut(BaseModel):
    id: int
    name: str
    relation: str | None
    birth_year: int | None
    id_number: str | None = Field(description="默认脱敏")
    phone: str | None = Field(description="默认脱敏")
    health_status: str | None = Field(description="默认脱敏")
    disability_status: str | None = Field(description="默认脱敏")
    living_here: bool
    version: int


class LedgerOut(BaseModel):
    household_id: int
    label: str
    masked: bool
    version: int = Field(description="0：尚未建立台账")
    registered_members: int = Field(description="户籍登记人数（来自住户档案）")
    people_living: int | None
    head_name: str | None
    head_id_number: str | None
    contact_name: str | None
    contact_phone: str | None
    health_status: str | None
    disability_status: str | None
    special_situation: str | None
    members: list[MemberOut]
    updated_at: LocalDatetime | None


class ChangeOut(BaseModel):
    id: int
    field: str
    field_label: str
    member_id: int | None
    old_value: str | None
    new_value: str | None
    masked: bool
    actor_id: int | None
    actor_name: str
    created_at: LocalDatetime
