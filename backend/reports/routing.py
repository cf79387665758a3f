"""Where a report goes: the grid (and its ancestors) of the place the problem is at.

In order: an explicit building; the point, inside a grid's ``boundary`` polygon where the street has drawn them,
else the nearest building within ``NEAREST_BUILDING_M``; the reporter's household; and when none of those
places it in a grid, the community queue of the reporter (or of the staff member filing it). Grid polygons and
building positions change rarely: they are cached per process for ``CACHE_SECONDS`` (a fresh boundary takes
effect within a minute), so routing a point costs no query.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from backend.models.org import Household, OrgLevel, OrgUnit
from backend.notifications.recipients import distance_m
from backend.org.scope import Scope

NEAREST_BUILDING_M = 500.0
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Place:
    street_id: int | None
    community_id: int | None
    grid_id: int | None = None
    compound_id: int | None = None
    building_id: int | None = None
    household_id: int | None = None
    how: str = "community"  # building | polygon | nearest_building | household | community

    @property
    def columns(self) -> dict[str, int | None]:
        return {
            "street_id": self.street_id,
            "community_id": self.community_id,
            "grid_id": self.grid_id,
            "compound_id": self.compound_id,
            "building_id": self.building_id,
        }


def _place(row: object, how: str, **extra: int | None) -> Place:
    columns = {
        c: getattr(row, c, None)
        for c in ("street_id", "community_id", "grid_id", "compound_id", "building_id")
    }
    return Place(**{**columns, **extra}, how=how)


# ------------------------------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class GridShape:
    grid: Place
    ring: tuple[tuple[float, float], ...]  # (lng, lat)
    bbox: tuple[float, float, float, float]  # min lng, min lat, max lng, max lat


@dataclass
class Geometry:
    grids: list[GridShape] = field(default_factory=list)
    buildings: list[tuple[float, float, Place]] = field(default_factory=list)  # lat, lng, place
    loaded_at: float = 0.0


def _ring(boundary: object) -> tuple[tuple[float, float], ...] | None:
    """A polygon [[lng, lat], …] (GeoJSON order) as a tuple, or None when malformed."""
    if isinstance(boundary, dict) and boundary.get("type") == "Polygon":  # GeoJSON geometry: outer ring
        coordinates = boundary.get("coordinates") or []
        boundary = coordinates[0] if coordinates else None
    if not isinstance(boundary, list) or len(boundary) < 3:
        return None
    points = []
    for point in boundary:
        if not (
            isinstance(point, list | tuple)
            and len(point) >= 2
            and all(isinstance(v, int | float) and math.isfinite(v) for v in point[:2])
        ):
            return None
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def contains(ring: tuple[tuple[float, float], ...], lng: float, lat: float) -> bool:
    """Point in polygon by ray casting (the ring may or may not repeat its first point)."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lng < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


_cache: dict[frozenset[int] | None, Geometry] = {}


def _street_scope(streets: frozenset[int] | None) -> Scope:
    return Scope(everything=True) if streets is None else Scope(units={OrgLevel.STREET: streets})


async def geometry(streets: frozenset[int] | None) -> Geometry:
    """Grid polygons and building positions of these streets (all streets for None), cached briefly."""
    cached = _cache.get(streets)
    if cached is not None and time.monotonic() - cached.loaded_at < CACHE_SECONDS:
        return cached
    scope = _street_scope(streets)
    geo = Geometry(loaded_at=time.monotonic())
    for grid in await scope.filter(OrgUnit.filter(level=OrgLevel.GRID, boundary__isnull=False)).order_by(
        "id"
    ):
        ring = _ring(grid.boundary)
        if ring is not None:
            lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
            geo.grids.append(
                GridShape(_place(grid, "polygon"), ring, (min(lngs), min(lats), max(lngs), max(lats)))
            )
    buildings = scope.filter(OrgUnit.filter(level=OrgLevel.BUILDING, lat__isnull=False, lng__isnull=False))
    for building in await buildings.order_by("id"):
        geo.buildings.append((building.lat, building.lng, _place(building, "nearest_building")))
    _cache[streets] = geo
    return geo


def forget_geometry() -> None:
    """Drop cached geometry (tests, and after a boundary import in this process)."""
    _cache.clear()


def by_point(geo: Geometry, lat: float, lng: float) -> Place | None:
    if geo.grids:  # the street drew its grids: the polygon decides
        for shape in geo.grids:
            x0, y0, x1, y1 = shape.bbox
            if x0 <= lng <= x1 and y0 <= lat <= y1 and contains(shape.ring, lng, lat):
                return shape.grid
        return None
    best: tuple[float, Place] | None = None
    for b_lat, b_lng, place in geo.buildings:
        if abs(b_lat - lat) > 0.01 or abs(b_lng - lng) > 0.012:  # ~1 km: cheap pre-filter
            continue
        d = distance_m(lat, lng, b_lat, b_lng)
        if d <= NEAREST_BUILDING_M and (best is None or d < best[0]):
            best = (d, place)
    return best[1] if best else None


# ------------------------------------------------------------------------------------------------ routing


async def building(building_id: int) -> OrgUnit | None:
    return await OrgUnit.get_or_none(id=building_id, level=OrgLevel.BUILDING)


async def building_place(building_id: int) -> Place | None:
    unit = await building(building_id)
    return _place(unit, "building") if unit else None


async def building_position(building_id: int) -> tuple[float, float] | None:
    """Where a building stands, in GCJ-02 like report positions (org units store GCJ-02: the map picker and
    wx.getLocation both give it), so no conversion: None when the building has no position."""
    unit = await building(building_id)
    if unit is None or unit.lat is None or unit.lng is None:
        return None
    return unit.lat, unit.lng


async def household_place(household_id: int | None) -> Place | None:
    if household_id is None:
        return None
    household = await Household.get_or_none(id=household_id)
    if household is None:
        return None
    return _place(household, "household", building_id=household.building_id, household_id=household.id)


def community_place(units: Iterable[object]) -> Place | None:
    """The first community among these granted units (their community queue)."""
    for unit in units:
        if unit is not None and getattr(unit, "community_id", None) is not None:
            return Place(street_id=unit.street_id, community_id=unit.community_id, how="community")  # type: ignore[attr-defined]
    return None


async def route(
    *,
    building_id: int | None,
    lat: float | None,
    lng: float | None,
    household_id: int | None,
    streets: frozenset[int] | None,
    fallback_units: Iterable[object],
) -> Place | None:
    """The place of a new report (None when nothing places it, not even in a community). ``household_id`` is
    the reporter's household: recorded on the report, and the place when nothing more precise is known."""
    found = None
    if building_id is not None:
        found = await building_place(building_id)
        if found is None:
            return None
    elif lat is not None and lng is not None:
        found = by_point(await geometry(streets), lat, lng)
    if found is None:
        found = await household_place(household_id) or community_place(fallback_units)
    if found is not None and found.household_id is None and household_id is not None:
        found = replace(found, household_id=household_id)
    return found
