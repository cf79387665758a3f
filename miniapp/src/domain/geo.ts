/**
 * Coordinates. The backend wants GCJ-02 (what wx.getLocation gives with type 'gcj02'). A browser gives WGS-84,
 * which is 300–600 m off inside China; on H5 we convert on the phone (the published national-survey transform,
 * as used by every Chinese map SDK), since uni's H5 getLocation only converts when a map key is configured.
 */
const A = 6378245.0
const EE = 0.00669342162296594323

/** Outside China GCJ-02 equals WGS-84 (the offset is only applied inside the country's bounding box). */
export function outOfChina(lat: number, lng: number): boolean {
  return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271
}

function transformLat(x: number, y: number): number {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0
  return r
}

function transformLng(x: number, y: number): number {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0
  return r
}

export function wgs84ToGcj02(lat: number, lng: number): { lat: number; lng: number } {
  if (outOfChina(lat, lng)) return { lat, lng }
  let dLat = transformLat(lng - 105.0, lat - 35.0)
  let dLng = transformLng(lng - 105.0, lat - 35.0)
  const radLat = (lat / 180.0) * Math.PI
  let magic = Math.sin(radLat)
  magic = 1 - EE * magic * magic
  const sqrtMagic = Math.sqrt(magic)
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI)
  dLng = (dLng * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI)
  return { lat: round6(lat + dLat), lng: round6(lng + dLng) }
}

/** Great-circle distance in metres (haversine), for "离您 300 米" on the phone. */
export function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const R = 6371008.8
  const toRad = (d: number) => (d * Math.PI) / 180
  const dLat = toRad(b.lat - a.lat)
  const dLng = toRad(b.lng - a.lng)
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLng / 2) ** 2
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)))
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6

/** GCJ-02 → WGS-84 by fixed-point iteration (error < 1 cm after a few rounds); used by tests to place a browser. */
export function gcj02ToWgs84(lat: number, lng: number): { lat: number; lng: number } {
  let w = { lat, lng }
  for (let i = 0; i < 8; i++) {
    const g = wgs84ToGcj02(w.lat, w.lng)
    w = { lat: w.lat - (g.lat - lat), lng: w.lng - (g.lng - lng) }
  }
  return { lat: Math.round(w.lat * 1e7) / 1e7, lng: Math.round(w.lng * 1e7) / 1e7 }
}
