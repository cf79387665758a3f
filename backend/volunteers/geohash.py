"""A small geohash (base32, lng/lat bit interleaving) for the volunteer index: see docs/adr/0016.

Cells are addressed by integer column/row at a precision; ``covering(lat, lng, radius_m)`` lists the cells
that cover a circle's bounding box, so "who is near" is an equality ``IN`` on one indexed column, the same on
SQLite and PostgreSQL (no PostGIS, no collation-dependent prefix ranges).
"""

from __future__ import annotations

import math

BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
INDEX_PRECISION = 6  # ≈ 1.0 km × 0.6 km at Lanzhou's latitude
FINE_PRECISION = 7  # ≈ 125 m × 150 m: dense city centres
FINE_UNTIL_M = (
    600  # searches up to this reach read the fine cells (fewer rows), wider ones the coarse (fewer cells)
)
EARTH_RADIUS_M = 6_371_000.0
M_PER_DEG_LAT = 111_320.0


def _bits(precision: int) -> tuple[int, int]:
    """Bits of longitude and latitude in a geohash of this many characters."""
    total = 5 * precision
    return (total + 1) // 2, total // 2


def cell_size(precision: int = INDEX_PRECISION) -> tuple[float, float]:
    """(degrees of longitude, degrees of latitude) covered by one cell."""
    lng_bits, lat_bits = _bits(precision)
    return 360.0 / (1 << lng_bits), 180.0 / (1 << lat_bits)


def cell_of(lat: float, lng: float, precision: int = INDEX_PRECISION) -> tuple[int, int]:
    """The (column, row) of the cell holding the point."""
    lng_bits, lat_bits = _bits(precision)
    w, h = cell_size(precision)
    x = min(int((lng + 180.0) / w), (1 << lng_bits) - 1)
    y = min(int((lat + 90.0) / h), (1 << lat_bits) - 1)
    return x, y


def cell_name(x: int, y: int, precision: int = INDEX_PRECISION) -> str:
    """The geohash of cell (x, y): longitude and latitude bits interleaved, longitude first."""
    lng_bits, lat_bits = _bits(precision)
    x %= 1 << lng_bits  # wrap around the antimeridian
    value = 0
    for i in range(5 * precision):
        if i % 2 == 0:
            bit = (x >> (lng_bits - 1 - i // 2)) & 1
        else:
            bit = (y >> (lat_bits - 1 - i // 2)) & 1
        value = (value << 1) | bit
    return "".join(BASE32[(value >> (5 * (precision - 1 - k))) & 31] for k in range(precision))


def encode(lat: float, lng: float, precision: int = INDEX_PRECISION) -> str:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValueError("latitude/longitude out of range")
    return cell_name(*cell_of(lat, lng, precision), precision)


def decode(code: str) -> tuple[float, float]:
    """The centre (lat, lng) of a geohash cell."""
    value = 0
    for ch in code:
        value = (value << 5) | BASE32.index(ch)
    precision = len(code)
    lng_bits, lat_bits = _bits(precision)
    x = y = 0
    for i in range(5 * precision):
        bit = (value >> (5 * precision - 1 - i)) & 1
        if i % 2 == 0:
            x = (x << 1) | bit
        else:
            y = (y << 1) | bit
    w, h = cell_size(precision)
    return -90.0 + (y + 0.5) * h, -180.0 + (x + 0.5) * w


def covering(lat: float, lng: float, radius_m: float, precision: int = INDEX_PRECISION) -> set[str]:
    """Every cell that intersects the bounding box of the circle (a superset of the circle's cells)."""
    dlat = radius_m / M_PER_DEG_LAT
    dlng = radius_m / (M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01))
    x0, y0 = cell_of(
        max(lat - dlat, -90.0), lng - dlng if lng - dlng >= -180 else lng - dlng + 360, precision
    )
    x1, y1 = cell_of(min(lat + dlat, 90.0), lng + dlng if lng + dlng <= 180 else lng + dlng - 360, precision)
    if x1 < x0:  # the box crosses the antimeridian
        x1 += 1 << _bits(precision)[0]
    return {cell_name(x, y, precision) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}


def cells(lat: float, lng: float) -> dict[str, str]:
    """Both index columns of a position."""
    return {"cell": encode(lat, lng, INDEX_PRECISION), "fine_cell": encode(lat, lng, FINE_PRECISION)}


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
