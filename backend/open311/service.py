"""Open311 GeoReport v2 over reports: services from the report categories, service requests from reports
(only what the public board shows), and new reports filed by API clients through the reports service.

A client acts as its service account (a user with no way to log in) with one grant on its community that lives
only for the call: ``resident`` for clients filing as an app, ``community_staff`` for a hotline (the reports
service lets only staff name a channel other than the app). The grant is never stored, so the account appears
in no team, queue or notification rule; it places the report (routing looks in the community's street, then
falls back to the community's queue) and records the client as reporter and actor.
"""

from __future__ import annotations

import hashlib
import secrets

from pydantic import ValidationError

from backend.auth.principal import Grant, Principal, UnitRef
from backend.core import audit
from backend.core.db import atomic
from backend.core.timeutil import utcnow
from backend.models.open311 import Open311Client
from backend.models.org import OrgLevel
from backend.models.reports import Channel, Level
from backend.models.user import Role
from backend.open311 import repository, views
from backend.open311.exceptions import (
    BadParameter,
    ClientExists,
    ClientNotFound,
    CommunityNotFound,
    InvalidApiKey,
    MissingApiKey,
    ServiceNotFound,
    ServiceRequestNotFound,
)
from backend.open311.geo import wgs84_to_gcj02
from backend.open311.render import field_errors
from backend.open311.schemas import MAX_RESULTS, NewRequest, RequestQuery
from backend.reports import repository as reports_repository
from backend.reports import service as reports
from backend.reports.categories import Category, taxonomy
from backend.reports.schemas import ReportIn

KEY_PREFIX = "o311_"
CLIENT_CHANNELS = (Channel.APP, Channel.HOTLINE)
CONTACT_FIELDS = (
    "account_id",
    "device_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "address_id",
    "media_url",
)
# ReportIn's field names as the client sent them, for error messages.
OPEN311_NAMES = {"lat": "lat", "lng": "long", "address": "address_string", "category": "service_code"}


def category(service_code: str) -> Category:
    found = taxonomy().get(service_code)
    if found is None:
        raise ServiceNotFound(detail=[{"loc": "service_code", "message": f"找不到分类 {service_code[:40]}"}])
    return found


async def service_requests(query: RequestQuery) -> list[dict]:
    """GET requests: by id (overriding everything else), or a window of at most 90 days, at most 1000."""
    if query.ids is not None:
        rows = await repository.requests_by_id(query.ids, MAX_RESULTS)
    else:
        start, end = query.window(utcnow())
        rows = await repository.requests_between(
            start, end, codes=query.codes, statuses=query.statuses, limit=MAX_RESULTS
        )
    return await _out(rows)


async def service_request(report_id: int) -> dict:
    rows = await repository.requests_by_id([report_id], 1)
    if not rows:
        raise ServiceRequestNotFound()
    return (await _out(rows))[0]


async def _out(rows: list[dict]) -> list[dict]:
    names = await reports_repository.unit_names(views.unit_ids(rows))
    return [views.service_request(row, names) for row in rows]


# ------------------------------------------------------------------------------------------------ filing


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def authenticate(api_key: str | None) -> Open311Client:
    """The active client holding this key (403 otherwise, as the spec says)."""
    if not api_key or not api_key.strip():
        raise MissingApiKey()
    client = await repository.active_client(key_hash(api_key.strip()))
    if client is None:
        raise InvalidApiKey()
    return client


def _principal(client: Open311Client) -> Principal:
    unit = client.community
    role = Role.RESIDENT if Channel(client.channel) is Channel.APP else Role.COMMUNITY_STAFF
    ref = UnitRef(
        id=unit.id,
        level=OrgLevel(unit.level).value,
        name=unit.name,
        street_id=unit.street_id,
        community_id=unit.community_id,
        grid_id=None,
        compound_id=None,
        building_id=None,
    )
    grant = Grant(id=0, role=role, org_unit_id=unit.id, department_id=None, org_unit=ref, department=None)
    return Principal(user=client.user, session_id=None, grants=[grant])


def _report_in(client: Open311Client, body: NewRequest, found: Category) -> ReportIn:
    lat = lng = None
    if body.lat is not None and body.long is not None:
        lat, lng = wgs84_to_gcj02(body.lat, body.long)
    description = body.description or found.name
    if body.media_url:  # recorded as a note for the handlers, never fetched
        description = f"{description}\n（附件链接，未下载）{body.media_url}"
    if len(description) > 1000:
        raise BadParameter(detail=[{"loc": "description", "message": "与 media_url 合计不能超过 1000 字"}])
    try:
        return ReportIn(
            category=found.code,
            description=description,
            lat=lat,
            lng=lng,
            address=body.address_string,
            channel=Channel(client.channel),
        )
    except ValidationError as exc:  # e.g. a position outside China
        raise BadParameter(detail=field_errors(exc.errors(), OPEN311_NAMES)) from exc


async def file_request(client: Open311Client, body: NewRequest) -> dict:
    """POST requests: a report filed through the reports service as the client, with what the client sent
    that the report does not keep (contact details, ids, the media URL) in the same transaction."""
    found = category(body.service_code)
    report_in = _report_in(client, body, found)
    extra = {name: getattr(body, name) for name in CONTACT_FIELDS}
    async with atomic():
        report = await reports.submit(_principal(client), report_in)
        await repository.record_request(report.id, client.id, extra)
    return views.created(report.id, found, Level(report.level), body.account_id)


# ------------------------------------------------------------------------------------------------ keys


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def issue_key(
    name: str, community_id: int, *, channel: Channel = Channel.APP, rotate: bool = False
) -> tuple[Open311Client, str]:
    """A new API key for a client organisation filing into a community (shown once: only its hash is kept).
    ``rotate`` replaces the key of an existing client (the old one stops working at once)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise BadParameter("名称应为 1–64 个字")
    if Channel(channel) not in CLIENT_CHANNELS:
        raise BadParameter("渠道只能是 app 或 hotline")
    community = await repository.community(community_id)
    if community is None:
        raise CommunityNotFound(detail={"community_id": community_id})
    key = new_key()
    async with atomic():
        client = await repository.client_named(name)
        if client is not None and not rotate:
            raise ClientExists(detail={"name": name})
        if client is None:
            user = await repository.create_service_account(f"Open311·{name}")
            client = Open311Client(name=name, user_id=user.id)
        client.key_hash, client.key_prefix = key_hash(key), key[:12]
        client.community_id, client.channel = community.id, Channel(channel)
        client.is_active, client.revoked_at = True, None
        await client.save()
        await audit.record(
            "open311:issue_key",
            actor_id=None,
            object_type="open311_client",
            object_id=client.id,
            detail={
                "name": name,
                "community_id": community.id,
                "channel": Channel(channel).value,
                "rotate": rotate,
            },
        )
    return client, key


async def revoke(name: str) -> Open311Client:
    """Stop a client's key at once (its reports stay, filed by its account)."""
    async with atomic():
        client = await repository.client_named(name.strip())
        if client is None:
            raise ClientNotFound(detail={"name": name})
        client.is_active, client.revoked_at = False, utcnow()
        await client.save(update_fields=["is_active", "revoked_at"])
        await audit.record(
            "open311:revoke_key", actor_id=None, object_type="open311_client", object_id=client.id
        )
    return client


async def clients() -> list[Open311Client]:
    return await repository.clients()
