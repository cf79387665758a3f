"""The resident ledger (住户台账): household facts visitors keep up to date, with a change history.

ID numbers, phones, health and disability status are stored only encrypted, in the ledger and in its history
(``sealing``); they leave masked unless the caller asks to see them, their role needs them
(``privacy.REVEAL_ROLES``: grid workers and staff, not party members) and the read is logged. The history
masks old and new values of those fields the same way. Every edit is optimistic (``version``) and writes one
``HouseholdChange`` per changed field in the same transaction.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from backend.auth.principal import Principal
from backend.config import Settings
from backend.core import privacy
from backend.core.db import atomic
from backend.core.errors import ValidationFailed
from backend.core.pagination import Page, encode_cursor
from backend.core.timeutil import utcnow
from backend.models.org import Household
from backend.models.visits import HouseholdChange, HouseholdMember, HouseholdProfile
from backend.visits import repository, sealing
from backend.visits.exceptions import LedgerChanged
from backend.visits.ledger_schemas import ChangeOut, LedgerOut, MemberIn, MemberOut, MemberPatch, ProfileIn
from backend.visits.sealing import MEMBER_SEALED, MEMBER_TABLE, PROFILE_SEALED, PROFILE_TABLE

SENSITIVE = {"head_id_number", "id_number", "health_status", "disability_status", "contact_phone", "phone"}
LABELS = {
    "people_living": "实际居住人数", "head_name": "户主姓名", "head_id_number": "户主身份证号",
    "contact_name": "联系人", "contact_phone": "联系电话", "health_status": "健康状况",
    "disability_status": "残疾状况", "special_situation": "特殊情况", "name": "姓名", "relation": "与户主关系",
    "birth_year": "出生年份", "id_number": "身份证号", "phone": "电话", "living_here": "是否在此居住",
    "added": "新增成员", "removed": "成员迁出",
}
PROFILE_FIELDS = ("people_living", "head_name", "head_id_number", "contact_name", "contact_phone",
                  "health_status", "disability_status", "special_situation")
MEMBER_FIELDS = ("id_number", "phone", "health_status", "disability_status")
REVEALED_FIELDS = ("id_number", "phone", "health", "disability")  # the audit action stays short


def mask(field: str, value: Any) -> Any:
    if value is None or field not in SENSITIVE:
        return value
    if field in ("head_id_number", "id_number"):
        return privacy.mask_id_number(str(value))
    if field in ("contact_phone", "phone"):
        return privacy.mask_phone(str(value))
    return "******"


async def reveal(principal: Principal, household: Household, what: str) -> None:
    await privacy.reveal(principal, object_type="household_ledger", object_id=household.id,
                         fields=REVEALED_FIELDS if what == "ledger" else ("history",))


def _profile_clear(settings: Settings, profile: HouseholdProfile | None, household_id: int) -> dict[str, Any]:
    return sealing.clear_values(settings, profile, PROFILE_FIELDS, table=PROFILE_TABLE, sealed=PROFILE_SEALED,
                                household_id=household_id)


def _member_clear(settings: Settings, m: HouseholdMember) -> dict[str, Any]:
    return sealing.clear_values(settings, m, MEMBER_FIELDS, table=MEMBER_TABLE, sealed=MEMBER_SEALED,
                                household_id=m.household_id)


def member_out(settings: Settings, m: HouseholdMember, revealed: bool) -> MemberOut:
    shown = {f: v if revealed else mask(f, v) for f, v in _member_clear(settings, m).items()}
    return MemberOut(id=m.id, name=m.name, relation=m.relation, birth_year=m.birth_year, living_here=m.living_here,
                     version=m.version, **shown)


async def ledger(settings: Settings, household: Household, *, revealed: bool) -> LedgerOut:
    profile = await repository.profile(household.id)
    label = (await repository.labels([household.id])).get(household.id, "")
    values = _profile_clear(settings, profile, household.id)
    if not revealed:
        values = {f: mask(f, v) for f, v in values.items()}
    members = await repository.members(household.id)
    return LedgerOut(household_id=household.id, label=label, masked=not revealed,
                     version=profile.version if profile else 0, registered_members=household.members_count,
                     members=[member_out(settings, m, revealed) for m in members],
                     updated_at=profile.updated_at if profile else None, **values)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


def _change(settings: Settings, household_id: int, member_id: int | None, f: str, old: Any, new: Any,
            actor_id: int) -> HouseholdChange:
    """One history row; a sensitive field's old and new values only encrypted."""
    if f not in SENSITIVE:
        return HouseholdChange(household_id=household_id, member_id=member_id, field=f, old_value=_text(old),
                               new_value=_text(new), sensitive=False, actor_id=actor_id)
    return HouseholdChange(
        household_id=household_id, member_id=member_id, field=f, sensitive=True, actor_id=actor_id,
        old_enc=sealing.seal(settings, old, **sealing.change_binding(household_id, member_id, f, "old")),
        new_enc=sealing.seal(settings, new, **sealing.change_binding(household_id, member_id, f, "new")))


async def _record(settings: Settings, household_id: int, actor_id: int, changes: dict[str, tuple[Any, Any]],
                  member_id: int | None = None) -> None:
    await HouseholdChange.bulk_create([_change(settings, household_id, member_id, f, old, new, actor_id)
                                       for f, (old, new) in changes.items()])


async def update_profile(settings: Settings, principal: Principal, household: Household, body: ProfileIn
                         ) -> None:
    wanted = body.model_dump(exclude_unset=True, exclude={"version"})
    async with atomic():
        profile = await repository.profile(household.id)
        if (profile.version if profile else 0) != body.version:
            raise LedgerChanged(detail={"version": profile.version if profile else 0})
        before = _profile_clear(settings, profile, household.id)
        changes = {f: (before[f], v) for f, v in wanted.items() if before[f] != v}
        if not changes:
            return
        new = sealing.seal_values(settings, {f: new for f, (_, new) in changes.items()}, table=PROFILE_TABLE,
                                  sealed=PROFILE_SEALED, household_id=household.id)
        if profile is None:
            try:
                async with atomic():
                    await HouseholdProfile.create(
                        household_id=household.id, updated_by_id=principal.id, street_id=household.street_id,
                        community_id=household.community_id, grid_id=household.grid_id,
                        compound_id=household.compound_id, building_id=household.building_id, **new)
            except IntegrityError as exc:
                raise LedgerChanged(detail={"version": 1}) from exc
        else:
            done = await HouseholdProfile.filter(id=profile.id, version=profile.version).update(
                **new, version=profile.version + 1, updated_by_id=principal.id, updated_at=utcnow())
            if not done:
                raise LedgerChanged(detail={"version": profile.version})
        await _record(settings, household.id, principal.id, changes)


async def add_member(settings: Settings, principal: Principal, household: Household, body: MemberIn
                     ) -> HouseholdMember:
    values = sealing.seal_values(settings, body.model_dump(), table=MEMBER_TABLE, sealed=MEMBER_SEALED,
                                 household_id=household.id)
    async with atomic():
        member = await HouseholdMember.create(household_id=household.id, **values)
        await _record(settings, household.id, principal.id, {"added": (None, member.name)},
                      member_id=member.id)
    return member


async def update_member(settings: Settings, principal: Principal, member: HouseholdMember, body: MemberPatch
                        ) -> HouseholdMember:
    wanted = body.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("name", "living_here"):
        if required in wanted and wanted[required] is None:
            raise ValidationFailed(f"{LABELS[required]}不能为空", detail=[{"loc": ["body", required]}])
    if body.version != member.version:
        raise LedgerChanged(detail={"version": member.version})
    clear = _member_clear(settings, member)
    changes = {f: (clear[f] if f in clear else getattr(member, f), v) for f, v in wanted.items()}
    changes = {f: (old, v) for f, (old, v) in changes.items() if old != v}
    if not changes:
        return member
    new = sealing.seal_values(settings, {f: v for f, (_, v) in changes.items()}, table=MEMBER_TABLE,
                              sealed=MEMBER_SEALED, household_id=member.household_id)
    async with atomic():
        done = await HouseholdMember.filter(id=member.id, version=member.version, removed_at=None).update(
            **new, version=member.version + 1, updated_at=utcnow())
        if not done:
            raise LedgerChanged(detail={"version": member.version})
        await _record(settings, member.household_id, principal.id, changes, member_id=member.id)
    member.update_from_dict({**new, "version": member.version + 1})
    return member


async def remove_member(settings: Settings, principal: Principal, member: HouseholdMember) -> None:
    async with atomic():
        done = await HouseholdMember.filter(id=member.id, removed_at=None).update(
            removed_at=utcnow(), living_here=False, version=member.version + 1, updated_at=utcnow())
        if not done:
            raise LedgerChanged()
        await _record(settings, member.household_id, principal.id, {"removed": (member.name, None)},
                      member_id=member.id)


def _change_values(settings: Settings, r: HouseholdChange) -> tuple[Any, Any]:
    if not r.sensitive:
        return r.old_value, r.new_value
    return tuple(  # type: ignore[return-value]
        sealing.unseal(settings, token, **sealing.change_binding(r.household_id, r.member_id, r.field, side))
        for side, token in (("old", r.old_enc), ("new", r.new_enc)))


async def history(settings: Settings, household: Household, *, revealed: bool, before_id: int | None,
                  limit: int) -> Page[ChangeOut]:
    rows = await repository.changes(household.id, before_id=before_id, limit=limit)
    more, rows = len(rows) > limit, rows[:limit]
    names = await repository.user_names(r.actor_id for r in rows if r.actor_id)
    hide = not revealed
    items = []
    for r in rows:
        old, new = _change_values(settings, r)
        items.append(ChangeOut(
            id=r.id, field=r.field, field_label=LABELS.get(r.field, r.field), member_id=r.member_id,
            old_value=mask(r.field, old) if hide else old, new_value=mask(r.field, new) if hide else new,
            masked=hide and r.sensitive, actor_id=r.actor_id, actor_name=names.get(r.actor_id or 0, ""),
            created_at=r.created_at))
    return Page(items=items, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)
