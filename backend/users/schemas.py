"""Bodies of /api/v1/me and /api/v1/users."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.auth.schemas import PHONE_PATTERN, TokenPair
from backend.core.timeutil import LocalDatetime
from backend.models.user import Role
from backend.org.schemas import MyHouseholdOut


class GrantOut(BaseModel):
    id: int
    role: Role
    role_label: str
    org_unit_id: int | None
    org_unit_name: str | None
    org_unit_path: str | None
    department_id: int | None
    department_name: str | None


class HouseholdRef(BaseModel):
    id: int
    label: str


class Me(BaseModel):
    id: int
    name: str
    phone_masked: str | None
    roles: list[GrantOut]
    household: MyHouseholdOut | None = Field(description="本人登记的住户（含楼栋位置与所属小区、网格、社区）")
    has_wechat: bool
    has_password: bool


class PhoneBound(BaseModel):
    me: Me
    tokens: TokenPair | None = Field(description="换绑到社区登记的账号时返回新的登录凭证")


class UserOut(BaseModel):
    id: int
    name: str
    phone_masked: str | None
    is_active: bool
    household: HouseholdRef | None
    roles: list[GrantOut]
    created_at: LocalDatetime


class UserSensitive(BaseModel):
    id: int
    phone: str | None


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    org_unit_id: int | None = Field(default=None, gt=0)
    department_id: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _target(self) -> GrantIn:
        if self.role is Role.ADMIN:
            if self.org_unit_id or self.department_id:
                raise ValueError("管理员角色不绑定单位或部门")
        elif self.role is Role.DEPARTMENT_STAFF:
            if not self.department_id or self.org_unit_id:
                raise ValueError("部门工作人员须指定部门（department_id），不指定单位")
        elif not self.org_unit_id or self.department_id:
            raise ValueError("该角色须指定所属单位（org_unit_id）")
        return self


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    password: str | None = Field(default=None, min_length=8, max_length=128)
    household_id: int | None = Field(default=None, gt=0)
    grants: list[GrantIn] = Field(default_factory=list, max_length=20)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=32)
    household_id: int | None = Field(default=None, gt=0)
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)
