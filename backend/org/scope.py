"""The one org-scoping helper: which org units may this user see or act on, for a given purpose.

Every list and every ``{id}`` route narrows its query with ``Scope.filter`` (or checks one row with
``Scope.covers``); no other module filters on ``street_id``/``community_id``/``grid_id`` by itself
(``scripts/lint_scope.py`` enforces it). A grant at a unit covers that unit's whole subtree; an admin grant
covers everything; department staff are scoped to their departments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from backend.auth.principal import Principal
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role

M = TypeVar("M")


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    units: dict[OrgLevel, frozenset[int]] = field(default_factory=dict)
    departments: frozenset[int] = frozenset()
    streets: frozenset[int] = frozenset()  # the streets the granted units lie in (for street-wide lookups)

    @property
    def is_empty(self) -> bool:
        return not self.everything and not any(self.units.values())

    def q(self, prefix: str = "") -> Q:
        """A filter over rows carrying the ancestor-id columns (``prefix`` reaches them through a relation)."""
        if self.everything:
            return Q()
        parts = [Q(**{f"{prefix}{level.column}__in": sorted(ids)}) for level, ids in self.units.items() if ids]
        if not parts:
            return Q(**{f"{prefix}id__in": []})
        return Q(*parts, join_type=Q.OR)

    def where(self, alias: str, first: int = 1) -> tuple[str, list[int]]:
        """The same filter for hand-written SQL (``backend.core.sql``): a condition over ``alias``'s ancestor
        columns with placeholders ``$first``, ``$first+1``…, and their values."""
        if self.everything:
            return "TRUE", []
        parts, params = [], []
        for level, ids in self.units.items():
            if not ids:
                continue
            holes = ", ".join(f"${first + len(params) + i}" for i in range(len(ids)))
            parts.append(f"{alias}.{level.column} IN ({holes})")
            params += sorted(ids)
        return (" OR ".join(parts) if parts else "FALSE"), params

    def filter(self, queryset: QuerySet[M], prefix: str = "") -> QuerySet[M]:
        return queryset if self.everything else queryset.filter(self.q(prefix))

    def covers(self, row: Any) -> bool:
        """Does this scope include ``row`` (an org unit, household or any row with the ancestor columns)?"""
        if self.everything:
            return True
        return any(getattr(row, level.column, None) in ids for level, ids in self.units.items())

    def covers_department(self, department_id: int | None) -> bool:
        return self.everything or (department_id is not None and department_id in self.departments)

    def department_q(self) -> Q:
        """Departments serving the streets this scope lies in, and the caller's own departments."""
        if self.everything:
            return Q()
        return Q(street_id__in=sorted(self.streets)) | Q(id__in=sorted(self.departments))

    def touches_street(self, street_id: int | None) -> bool:
        return self.everything or (street_id is not None and street_id in self.streets)

    def union(self, other: Scope) -> Scope:
        levels = set(self.units) | set(other.units)
        return Scope(
            everything=self.everything or other.everything,
            units={lv: self.units.get(lv, frozenset()) | other.units.get(lv, frozenset()) for lv in levels},
            departments=self.departments | other.departments,
            streets=self.streets | other.streets,
        )


NOTHING = Scope()
EVERYTHING = Scope(everything=True)


def scope_of(principal: Principal, roles: Iterable[Role]) -> Scope:
    """The units that the principal's grants of these roles cover."""
    units: dict[OrgLevel, set[int]] = {}
    departments: set[int] = set()
    streets: set[int] = set()
    for grant in principal.grants_for(roles):
        if Role(grant.role) is Role.ADMIN:
            return EVERYTHING
        if grant.department_id is not None:
            departments.add(grant.department_id)  # department staff see their department's work only
        if grant.org_unit_id is not None:
            level = OrgLevel(grant.org_unit.level)
            units.setdefault(level, set()).add(grant.org_unit_id)
            if grant.org_unit.street_id is not None:
                streets.add(grant.org_unit.street_id)
        elif grant.department_id is not None and grant.department.street_id is not None:
            streets.add(grant.department.street_id)
    return Scope(
        units={lv: frozenset(ids) for lv, ids in units.items()},
        departments=frozenset(departments),
        streets=frozenset(streets),
    )


def unit_scope(unit: OrgUnit) -> Scope:
    """The subtree of one unit, for routing rules ("everyone responsible for grid G")."""
    return Scope(units={OrgLevel(unit.level): frozenset({unit.id})})


def ancestor_columns(parent: OrgUnit | None, level: OrgLevel, own_id: int | None) -> dict[str, int | None]:
    """The ancestor-id columns of a row placed under ``parent`` at ``level`` (own id at its own level)."""
    columns: dict[str, int | None] = {
        lv.column: (getattr(parent, lv.column, None) if parent else None) for lv in OrgLevel
    }
    if own_id is not None:
        columns[level.column] = own_id
    return columns
