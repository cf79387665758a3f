import { describe, expect, it } from 'vitest'
import { lineChart, rateBars, svgDataUri } from '../charts'
import { distanceM, gcj02ToWgs84, outOfChina, wgs84ToGcj02 } from '../geo'
import { validIdNumber } from '../id-number'
import { statusTone, taskProgress, taskSteps } from '../labels'
import { formatDateTime, formatDistance, formatMinutes, isoWithOffset, monthsUpTo } from '../time'

describe('coordinates', () => {
  it('shifts a WGS-84 fix in Lanzhou by the few hundred metres GCJ-02 expects, and back', () => {
    const wgs = { lat: 36.0659257, lng: 103.7231704 }
    const gcj = wgs84ToGcj02(wgs.lat, wgs.lng)
    const shift = distanceM(wgs, gcj)
    expect(shift).toBeGreaterThan(100)
    expect(shift).toBeLessThan(700)
    expect(gcj.lat).toBeCloseTo(36.06569, 4)
    expect(gcj.lng).toBeCloseTo(103.72566, 4)
    const back = gcj02ToWgs84(gcj.lat, gcj.lng)
    expect(distanceM(back, wgs)).toBeLessThan(0.5)
  })

  it('leaves points outside China alone', () => {
    expect(outOfChina(48.8566, 2.3522)).toBe(true)
    expect(wgs84ToGcj02(48.8566, 2.3522)).toEqual({ lat: 48.8566, lng: 2.3522 })
  })

  it('measures distances on the sphere', () => {
    expect(distanceM({ lat: 36.0, lng: 103.7 }, { lat: 36.001, lng: 103.7 })).toBeCloseTo(111.2, 0)
  })
})

describe('charts', () => {
  it('clamps rates to 0–100 and says 暂无 for nothing to measure', () => {
    expect(rateBars([{ label: 'a', value: 120 }, { label: 'b', value: -3 }, { label: 'c', value: undefined }])).toEqual([
      { label: 'a', value: 100, width: 100, text: '100%' },
      { label: 'b', value: 0, width: 0, text: '0%' },
      { label: 'c', value: null, width: 0, text: '暂无' },
    ])
  })

  it('draws one line per series, broken where a month has no data, 100 % at the top', () => {
    const c = lineChart(['9月', '10月', '11月'], [{ name: '解决率', color: '#047857', values: [50, null, 100] }], {
      width: 600, height: 300, fontSize: 20,
    })
    expect(c.points).toHaveLength(2) // two runs: the gap splits the line
    const [[first], [last]] = c.points
    expect(first.value).toBe(50)
    expect(last.value).toBe(100)
    expect(last.y).toBeLessThan(first.y) // higher rate, higher on screen
    expect(last.x).toBeGreaterThan(first.x)
    expect(c.svg).not.toContain('<polyline') // single points have no line to draw
    expect(c.svg.match(/<circle/g)).toHaveLength(2)
    expect(svgDataUri(c.svg)).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/)
  })

  it('escapes labels (they may come from unit names)', () => {
    expect(lineChart(['<b>&'], []).svg).toContain('&lt;b&gt;&amp;')
  })
})

describe('words and numbers people read', () => {
  it('formats server times as written, minutes and distances in plain words', () => {
    expect(formatDateTime('2026-11-22T15:21:45+08:00')).toBe('11月22日 15:21')
    expect(formatMinutes(90)).toBe('1小时30分钟')
    expect(formatMinutes(120)).toBe('2小时')
    expect(formatMinutes(45)).toBe('45分钟')
    expect(formatDistance(286)).toBe('286米')
    expect(formatDistance(1260)).toBe('1.3公里')
  })

  it('lists months across a year boundary, oldest first', () => {
    expect(monthsUpTo('2026-02', 4)).toEqual(['2025-11', '2025-12', '2026-01', '2026-02'])
  })

  it('writes the phone time with its offset', () => {
    expect(isoWithOffset(new Date('2026-11-22T07:00:00Z'))).toMatch(/^2026-11-2\dT\d\d:00:00[+-]\d\d:\d\d$/)
  })

  it('knows the steps of delivery and help tasks', () => {
    expect(taskSteps('delivery').map((s) => s.label)).toEqual(['已接单', '已取货', '已送达', '居民确认'])
    expect(taskSteps('help').map((s) => s.label)).toEqual(['已接单', '已送达', '居民确认'])
    expect(taskProgress('delivery', 'offered')).toBe(-1)
    expect(taskProgress('delivery', 'delivered')).toBe(2)
    expect(taskProgress('help', 'delivered')).toBe(1)
    expect(statusTone('closed')).toBe('done')
    expect(statusTone('overdue')).toBe('bad')
  })

  it('checks ID numbers with the GB 11643 check digit', () => {
    expect(validIdNumber('620102198001010017')).toBe(true)
    expect(validIdNumber('620102198001010018')).toBe(false)
    expect(validIdNumber('11010519491231002x')).toBe(true)
    expect(validIdNumber('12345')).toBe(false)
  })
})
