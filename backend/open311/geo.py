"""WGS-84 ⇄ GCJ-02. Open311 speaks WGS-84; Jinlin stores GCJ-02 (what ``wx.getLocation`` gives), which is
300–600 m off inside China. The published national-survey transform, the same constants and bounding box as
the mini-program's ``miniapp/src/domain/geo.ts``; the inverse is a fixed-point iteration (error < 1 cm)."""

from __future__ import annotations

import math

A = 6378245.0
EE = 0.00669342162296594323


def out_of_china(lat: float, lng: float) -> bool:
    """Outside China the two are the same (the offset is applied only inside the country's bounding box)."""
    return lng < 72.004 or lng > 137.8347 or lat < 0.8293 or lat > 55.8271


def _lat_offset(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _lng_offset(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """A WGS-84 position (an Open311 client's) as GCJ-02 (what reports store and route by)."""
    if out_of_china(lat, lng):
        return lat, lng
    d_lat = _lat_offset(lng - 105.0, lat - 35.0)
    d_lng = _lng_offset(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((A * (1 - EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lng + d_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """A stored GCJ-02 position as WGS-84 (what Open311 output must use)."""
    w_lat, w_lng = lat, lng
    for _ in range(10):
        g_lat, g_lng = wgs84_to_gcj02(w_lat, w_lng)
        w_lat, w_lng = w_lat - (g_lat - lat), w_lng - (g_lng - lng)
    return w_lat, w_lng
