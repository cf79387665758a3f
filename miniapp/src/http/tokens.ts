/**
 * Where the token pair lives: device storage (uni.setStorageSync), so a restart keeps the session.
 * The http client reads it on every request; the auth store listens for changes to stay reactive.
 */

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type?: string
  expires_in?: number
}

const STORAGE_KEY = 'jinlin.tokens'
type Listener = (tokens: TokenPair | null) => void
const listeners = new Set<Listener>()

export function loadTokens(): TokenPair | null {
  try {
    const raw = uni.getStorageSync(STORAGE_KEY) as unknown
    if (raw && typeof raw === 'object' && 'access_token' in raw && 'refresh_token' in raw) {
      return raw as TokenPair
    }
  } catch {
    // storage unavailable (private mode, quota): behave as logged out
  }
  return null
}

export function saveTokens(tokens: TokenPair): void {
  const { access_token, refresh_token } = tokens
  uni.setStorageSync(STORAGE_KEY, { access_token, refresh_token })
  listeners.forEach((fn) => fn({ access_token, refresh_token }))
}

export function clearTokens(): void {
  uni.removeStorageSync(STORAGE_KEY)
  listeners.forEach((fn) => fn(null))
}

/** Subscribe to token changes (login, refresh, logout, expiry); returns the unsubscribe function. */
export function onTokensChanged(fn: Listener): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}
