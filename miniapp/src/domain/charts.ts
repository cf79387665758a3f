/**
 * Charts drawn by hand (no chart library: it would have to build for both targets). Bars are plain views sized
 * by percentage (work on H5 and mp-weixin alike); the trend line is an SVG string shown through <image> as a
 * data URI. Both are computed here, so they are tested without a renderer.
 */

export interface Bar {
  label: string
  /** 0–100, or null when there is nothing to measure (no reports). */
  value: number | null
  /** Width of the bar in percent of the track (never below 0, never above 100). */
  width: number
  text: string
}

export function rateBars(rows: { label: string; value: number | null | undefined }[]): Bar[] {
  return rows.map(({ label, value }) => {
    const v = value === null || value === undefined || Number.isNaN(value) ? null : Math.max(0, Math.min(100, value))
    return { label, value: v, width: v ?? 0, text: v === null ? '暂无' : `${Number(v.toFixed(1))}%` }
  })
}

export interface Series {
  name: string
  color: string
  /** One value per label; null leaves a gap. */
  values: (number | null)[]
}

export interface LineChart {
  svg: string
  points: { series: string; x: number; y: number; value: number }[][]
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** A 0–100 % line chart: one polyline per series (broken at gaps), labelled x axis, grid at 0/50/100. */
export function lineChart(labels: string[], series: Series[], opts: { width?: number; height?: number; fontSize?: number } = {}): LineChart {
  const width = opts.width ?? 640
  const height = opts.height ?? 320
  const font = opts.fontSize ?? 26
  const left = font * 2.6
  const right = 16
  const top = 16
  const bottom = font * 1.8
  const plotW = width - left - right
  const plotH = height - top - bottom
  const x = (i: number) => left + (labels.length <= 1 ? plotW / 2 : (plotW * i) / (labels.length - 1))
  const y = (v: number) => top + plotH * (1 - Math.max(0, Math.min(100, v)) / 100)

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ]
  for (const g of [0, 50, 100]) {
    parts.push(`<line x1="${left}" y1="${y(g)}" x2="${width - right}" y2="${y(g)}" stroke="#9ca3af" stroke-width="1"/>`)
    parts.push(`<text x="${left - 6}" y="${y(g) + font / 3}" font-size="${font}" text-anchor="end" fill="#1f2937">${g}%</text>`)
  }
  labels.forEach((l, i) => {
    parts.push(`<text x="${x(i)}" y="${height - font / 2}" font-size="${font}" text-anchor="middle" fill="#1f2937">${esc(l)}</text>`)
  })
  const points: LineChart['points'] = []
  for (const s of series) {
    let run: { series: string; x: number; y: number; value: number }[] = []
    const runs: (typeof run)[] = []
    s.values.forEach((v, i) => {
      if (v === null || v === undefined || Number.isNaN(v)) {
        if (run.length) runs.push(run)
        run = []
      } else {
        run.push({ series: s.name, x: Math.round(x(i) * 10) / 10, y: Math.round(y(v) * 10) / 10, value: v })
      }
    })
    if (run.length) runs.push(run)
    for (const r of runs) {
      if (r.length > 1) {
        const d = r.map((p) => `${p.x},${p.y}`).join(' ')
        parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="4"/>`)
      }
      for (const p of r) parts.push(`<circle cx="${p.x}" cy="${p.y}" r="6" fill="${s.color}"/>`)
      points.push(r)
    }
  }
  parts.push('</svg>')
  return { svg: parts.join(''), points }
}

export function svgDataUri(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
}
