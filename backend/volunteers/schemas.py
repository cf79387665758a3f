"""Bodies of /api/v1/volunteers: profiles (ID numbers only ever masked here), teams, 双报到, pairings,
activities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.core.timeutil import LocalDatetime
from backend.models.volunteers import SignupStatus, VolunteerStatus
from backend.volunteers.enums import SKILLS

Lat = Annotated[float, Field(ge=-90, le=90)]
Lng = Annotated[float, Field(ge=-180, le=180)]
Skill = Annotated[str, StringConstraints(pattern="^(" + "|".join(SKILLS) + ")$")]
Availability = Annotated[str, StringConstraints(pattern=r"^[01]{168}$")]
Id = Annotated[int, Field(gt=0, le=2**62)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceArea(Strict):
    lat: Lat
    lng: Lng
    radius_m: int = Field(default=3000, ge=200, le=20000)


class RegistrationIn(Strict):
    real_name: str = Field(min_length=2, max_length=32)
    id_number: str = Field(min_length=18, max_length=18, description="18 位身份证号，加密保存，只显示脱敏值")
    community_id: Id
    skills: list[Skill] = Field(default_factory=list, max_length=len(SKILLS))
    area: ServiceArea
    availability: Availability | None = Field(
        default=None, description="每周 168 个小时（周一 0 点起），1 = 可服务"
    )
    is_party_member: bool = False
    is_veteran: bool = False


class StaffRegistrationIn(RegistrationIn):
    user_id: Id


class ProfileUpdate(Strict):
    skills: list[Skill] | None = Field(default=None, max_length=len(SKILLS))
    area: ServiceArea | None = None
    availability: Availability | None = None


class StaffProfileUpdate(ProfileUpdate):
    max_active: int | None = Field(default=None, ge=1, le=20)


class ProfileOut(BaseModel):
    id: int
    user_id: int
    real_name: str
    id_number_masked: str
    phone_masked: str | None
    status: VolunteerStatus
    status_label: str
    skills: list[str]
    lat: float
    lng: float
    service_radius_m: int
    availability: str
    max_active: int
    active_tasks: int
    completed_tasks: int
    is_party_member: bool
    is_veteran: bool
    community_id: int | None
    created_at: LocalDatetime


class ProfileSensitive(BaseModel):
    id: int
    real_name: str
    id_number: str
    phone: str | None


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=200)


class TeamIn(Strict):
    community_id: Id
    name: str = Field(min_length=1, max_length=64)
    kind: str | None = Field(default=None, max_length=32)
    leader_id: Id | None = None


class TeamOut(BaseModel):
    id: int
    name: str
    kind: str | None
    community_id: int | None
    leader_id: int | None
    member_ids: list[int]


class MemberIn(Strict):
    user_id: Id


class DualRegistrationIn(Strict):
    community_id: Id
    work_unit: str = Field(min_length=1, max_length=64, description="工作单位")
    party_org: str = Field(min_length=1, max_length=64, description="所在党组织")


class DualRegistrationOut(BaseModel):
    id: int
    user_id: int
    user_name: str
    community_id: int | None
    work_unit: str
    party_org: str
    created_at: LocalDatetime


class PairingIn(Strict):
    volunteer_id: Id
    resident_id: Id
    note: str | None = Field(default=None, max_length=200)


class PairingOut(BaseModel):
    id: int
    volunteer_id: int
    volunteer_name: str
    resident_id: int
    resident_name: str
    active: bool
    note: str | None
    started_at: LocalDatetime
    ended_at: LocalDatetime | None


class ActivityIn(Strict):
    community_id: Id
    title: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    place: str | None = Field(default=None, max_length=100)
    lat: Lat | None = None
    lng: Lng | None = None
    geofence_m: int = Field(default=500, ge=50, le=5000)
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(ge=1, le=10000)
    credit_minutes: int = Field(ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _sane(self) -> ActivityIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("结束时间须晚于开始时间")
        if (self.lat is None) != (self.lng is None):
            raise ValueError("活动位置须同时给出纬度和经度")
        return self


class ActivityOut(BaseModel):
    id: int
    title: str
    description: str | None
    place: str | None
    lat: float | None
    lng: float | None
    starts_at: LocalDatetime
    ends_at: LocalDatetime
    capacity: int
    signed_up: int
    credit_minutes: int
    is_cancelled: bool
    community_id: int | None
    my_status: SignupStatus | None = None


class PositionIn(Strict):
    lat: Lat
    lng: Lng


class SignupOut(BaseModel):
    activity_id: int
    volunteer_id: int
    status: SignupStatus
    check_in_at: LocalDatetime | None
    check_out_at: LocalDatetime | None
    credited_minutes: int | None = None
