/**
 * Where the phone is, in GCJ-02. mp-weixin: wx.getLocation type 'gcj02' (needs scope.userLocation, declared in
 * manifest.json). H5: the browser's WGS-84 fix converted on the phone (src/domain/geo.ts). Never hangs: a
 * position that does not come within `timeoutMs` is an error the page explains (and offers the building picker).
 */
import { wgs84ToGcj02 } from '@/domain/geo'
import { isMpWeixin } from '@/platform'

export interface Position {
  lat: number
  lng: number
  accuracy: number | null
}

export class LocationError extends Error {
  constructor(message = '没有拿到位置：请在手机设置里允许使用位置信息，或改为选择楼栋') {
    super(message)
    this.name = 'LocationError'
  }
}

export function currentPosition(timeoutMs = 10_000, mp = isMpWeixin): Promise<Position> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new LocationError('定位时间太长，请到窗边或室外再试，或改为选择楼栋')), timeoutMs)
    uni.getLocation({
      type: mp ? 'gcj02' : 'wgs84',
      isHighAccuracy: true,
      highAccuracyExpireTime: Math.min(timeoutMs, 5000),
      success: (res) => {
        clearTimeout(timer)
        const point = mp ? { lat: res.latitude, lng: res.longitude } : wgs84ToGcj02(res.latitude, res.longitude)
        resolve({ ...point, accuracy: typeof res.accuracy === 'number' ? Math.round(res.accuracy) : null })
      },
      fail: () => {
        clearTimeout(timer)
        reject(new LocationError())
      },
    })
  })
}
