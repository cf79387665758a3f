/** The app-wide http instance and the types callers need. See client.ts for the behaviour. */
import { platform } from '@/platform'
import { resolveBaseUrl, resolveSocketUrl } from './base-url'
import { createHttp } from './client'

export const http = createHttp({
  baseUrl: resolveBaseUrl(platform, import.meta.env.VITE_API_BASE, import.meta.env.DEV),
})

/** `ws(s)://…/api/v1/ws` for this target (same origin on H5, VITE_API_BASE on mp-weixin). */
export function socketUrl(path = '/api/v1/ws'): string {
  const loc = typeof window !== 'undefined' && window.location ? window.location : undefined
  return resolveSocketUrl(http.config.baseUrl, path, loc)
}

/** Where the app goes when the session cannot be renewed; set once in App.vue. */
export function setAuthExpiredHandler(handler: () => void): void {
  http.config.onAuthExpired = handler
}

export { createHttp, type Http, type RequestOptions, type UploadOptions } from './client'
export { ApiError, HttpError, NetworkError, type ServerErrorBody } from './errors'
export { loadTokens, saveTokens, clearTokens, onTokensChanged, type TokenPair } from './tokens'
