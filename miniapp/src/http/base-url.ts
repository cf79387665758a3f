/**
 * API origin per target. H5 is served by the backend itself, so it always calls its own origin ('')
 * and needs no CORS. mp-weixin has no origin: it needs VITE_API_BASE (an https domain registered in
 * the mini-program console); development builds fall back to a local backend for WeChat DevTools.
 */
export function resolveBaseUrl(platform: string, envBase: string | undefined, dev: boolean): string {
  if (platform === 'h5') return ''
  const base = (envBase ?? '').trim().replace(/\/+$/, '')
  if (base) return base
  if (dev) return 'http://127.0.0.1:8000'
  console.error('[http] VITE_API_BASE is not set for this mp build: API calls will fail')
  return ''
}

/**
 * The WebSocket origin for a base URL: `http(s)://host` → `ws(s)://host`. H5's base is '' (same origin),
 * so the page's own location decides; `wss` whenever the page itself is on https.
 */
export function resolveSocketUrl(baseUrl: string, path: string, location?: { protocol: string; host: string }): string {
  if (baseUrl) return baseUrl.replace(/^http(s?):\/\//, (_m, s: string) => `ws${s}://`) + path
  if (!location) throw new Error('no API origin and no page location: cannot build a socket URL')
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`
}
