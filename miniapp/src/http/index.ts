/** The app-wide http instance and the types callers need. See client.ts for the behaviour. */
import { platform } from '@/platform'
import { resolveBaseUrl } from './base-url'
import { createHttp } from './client'

export const http = createHttp({
  baseUrl: resolveBaseUrl(platform, import.meta.env.VITE_API_BASE, import.meta.env.DEV),
})

/** Where the app goes when the session cannot be renewed; set once in App.vue. */
export function setAuthExpiredHandler(handler: () => void): void {
  http.config.onAuthExpired = handler
}

export { createHttp, type Http, type RequestOptions } from './client'
export { ApiError, HttpError, NetworkError, type ServerErrorBody } from './errors'
export { loadTokens, saveTokens, clearTokens, onTokensChanged, type TokenPair } from './tokens'
