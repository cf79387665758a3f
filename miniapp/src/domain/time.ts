/** Dates as people read them, and timestamps the API accepts. Server times arrive as `2026-11-22T15:21:45+08:00`. */

const pad = (n: number) => String(n).padStart(2, '0')

/** The phone's local time with its UTC offset, e.g. `2026-11-22T15:21:45+08:00` (what the visits API wants). */
export function isoWithOffset(d: Date = new Date()): string {
  const off = -d.getTimezoneOffset()
  const sign = off >= 0 ? '+' : '-'
  const abs = Math.abs(off)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  )
}

/** "11月22日 15:21" from a server timestamp, read as written (the server already speaks Beijing time). */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso)
  if (!m) return iso
  return `${Number(m[2])}月${Number(m[3])}日 ${m[4]}:${m[5]}`
}

/** "2026年11月22日" */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return ''
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso)
  return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : iso
}

/** `YYYY-MM` of a date (local time). */
export function monthOf(d: Date = new Date()): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`
}

/** The `n` months up to and including `month` (`YYYY-MM`), oldest first. */
export function monthsUpTo(month: string, n: number): string[] {
  const [y, m] = month.split('-').map(Number)
  const out: string[] = []
  for (let i = n - 1; i >= 0; i--) {
    const total = y * 12 + (m - 1) - i
    out.push(`${Math.floor(total / 12)}-${pad((total % 12) + 1)}`)
  }
  return out
}

/** "2026年11月" */
export function formatMonth(month: string): string {
  const [y, m] = month.split('-')
  return `${y}年${Number(m)}月`
}

/** Minutes as people say them: "1小时30分钟", "45分钟". */
export function formatMinutes(minutes: number): string {
  const h = Math.floor(Math.abs(minutes) / 60)
  const m = Math.abs(minutes) % 60
  const sign = minutes < 0 ? '-' : ''
  if (h && m) return `${sign}${h}小时${m}分钟`
  if (h) return `${sign}${h}小时`
  return `${sign}${m}分钟`
}

/** A distance in plain words: "286米", "1.2公里". */
export function formatDistance(m: number | null | undefined): string {
  if (m === null || m === undefined) return ''
  return m < 1000 ? `${Math.round(m)}米` : `${(m / 1000).toFixed(1)}公里`
}
