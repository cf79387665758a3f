"""What Open311 clients send: the fields of POST requests (form-encoded per the spec, or JSON) and the filters
of GET requests. Parsing errors become ``BadParameter`` with one entry per field (rendered as one ``<error>``
each, HTTP 400)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from backend.core.timeutil import SHANGHAI
from backend.open311 import render
from backend.open311.enums import CLOSED, OPEN
from backend.open311.exceptions import BadParameter

MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)

Short = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=64)]
Name = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=32)]


@dataclass
class Posted:
    """A POST body as flat strings, with ``attribute[code]`` (and ``attribute[code][]``) values apart."""

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)


class NewRequest(BaseModel):
    """POST requests: a service request to file as a report. Unknown fields (``api_key``, ``jurisdiction_id``,
    extensions some clients add) are ignored; empty ones count as absent (the spec's "optional" rule)."""

    model_config = ConfigDict(extra="ignore")

    service_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    long: Annotated[float | None, Field(ge=-180, le=180)] = None
    address_string: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None
    address_id: Short = None
    description: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=1000)] = None
    media_url: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=1000)] = None
    email: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=254)] = None
    phone: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=20)] = None
    first_name: Name = None
    last_name: Name = None
    device_id: Short = None
    account_id: Short = None

    @model_validator(mode="after")
    def _check(self) -> NewRequest:
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat 与 long 需同时提供")
        if self.lat is None and not self.address_string:
            raise ValueError("须提供位置：lat 与 long，或 address_string（暂不支持只给 address_id）")
        if self.media_url and not re.fullmatch(r"https?://[^\s<>\"]+", self.media_url):
            raise ValueError("media_url 应为 http(s) 链接")
        if self.email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.email):
            raise ValueError("email 格式不正确")
        if self.phone and not re.fullmatch(r"\+?[\d\s()-]{3,20}", self.phone):
            raise ValueError("phone 格式不正确")
        return self

    @classmethod
    def parse(cls, posted: Posted) -> NewRequest:
        values = {k: v for k, v in posted.fields.items() if v.strip()}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise BadParameter(detail=render.field_errors(exc.errors())) from exc


# ------------------------------------------------------------------------------------------------ GET filters


@dataclass(frozen=True)
class RequestQuery:
    """GET requests: ``ids`` (when given) override every other filter; otherwise a window of at most 90
    days on the requested time (the last 90 days by default), service codes and open/closed."""

    ids: tuple[int, ...] | None = None
    codes: tuple[str, ...] | None = None
    statuses: frozenset[str] | None = None
    start: datetime | None = None
    end: datetime | None = None

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        start, end = self.start, self.end
        if start is None and end is None:
            return now - MAX_SPAN, now
        if start is None:
            return end - MAX_SPAN, end  # type: ignore[operator]
        if end is None:
            return start, start + MAX_SPAN
        return start, end


def _values(raw: list[str] | None) -> list[str]:
    """Comma lists, possibly declared several times; empty entries dropped."""
    return [v.strip() for chunk in raw or [] for v in chunk.split(",") if v.strip()]


def parse_datetime(value: str, name: str) -> datetime:
    """A W3C (ISO 8601) date or date-time. A time must carry its zone (``Z`` or ``±hh:mm``) as the spec
    says; a bare date means midnight in Beijing. A ``+`` that arrived as a space (unencoded in a URL) is put
    back."""
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=SHANGHAI).astimezone(UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadParameter(
            f"{name} 不是有效的时间，应为 2010-01-01T00:00:00Z 这样的 W3C 格式",
            detail=[{"loc": name, "message": "不是有效的时间，应为 2010-01-01T00:00:00Z 这样的 W3C 格式"}],
        ) from exc
    if parsed.tzinfo is None:
        raise BadParameter(
            f"{name} 须包含时区",
            detail=[{"loc": name, "message": "须包含时区（Z 或 +08:00），如 2010-01-01T00:00:00Z"}],
        )
    return parsed.astimezone(UTC)


def _ids(raw: list[str] | None) -> tuple[int, ...] | None:
    values = _values(raw)
    if not values:
        return None
    if len(values) > MAX_RESULTS or not all(re.fullmatch(r"\d{1,18}", v) for v in values):
        raise BadParameter(
            detail=[
                {"loc": "service_request_id", "message": f"应为逗号分隔的上报编号，最多 {MAX_RESULTS} 个"}
            ]
        )
    return tuple(dict.fromkeys(int(v) for v in values))


def parse_query(
    *,
    service_request_id: list[str] | None,
    service_code: list[str] | None,
    status: list[str] | None,
    start_date: str | None,
    end_date: str | None,
    known_codes: set[str],
) -> RequestQuery:
    ids = _ids(service_request_id)
    if ids is not None:
        return RequestQuery(ids=ids)  # "This overrides all other arguments."
    codes = _values(service_code)
    unknown = [c for c in codes if c not in known_codes]
    if unknown:
        raise BadParameter(
            detail=[{"loc": "service_code", "message": f"未知的分类：{', '.join(unknown[:5])}"}]
        )
    statuses = {s.lower() for s in _values(status)}
    if statuses - {OPEN, CLOSED}:
        raise BadParameter(detail=[{"loc": "status", "message": "应为 open 或 closed（可用逗号分隔）"}])
    start = parse_datetime(start_date, "start_date") if start_date and start_date.strip() else None
    end = parse_datetime(end_date, "end_date") if end_date and end_date.strip() else None
    if start and end and start > end:
        raise BadParameter(detail=[{"loc": "start_date", "message": "不能晚于 end_date"}])
    if start and end and end - start > MAX_SPAN:
        raise BadParameter(detail=[{"loc": "end_date", "message": "start_date 到 end_date 不能超过 90 天"}])
    return RequestQuery(
        codes=tuple(dict.fromkeys(codes)) or None, statuses=frozenset(statuses) or None, start=start, end=end
    )
