/** /api/v1/auth/*: sign-in flows. Token refresh is not here: it belongs to src/http (single-flight). */
import { http } from '@/http'
import type {
  DevAccountList,
  DevLoginBody,
  PasswordLoginBody,
  RefreshBody,
  TokenPair,
  WechatLoginBody,
  WechatLoginResult,
} from './types'

/** Demo accounts; the server answers 404 outside development, so errors are not toasted. */
export const listDevAccounts = () =>
  http.get<DevAccountList>('/api/v1/auth/dev-login', undefined, { auth: false, toast: false })

export const devLogin = (userId: number) =>
  http.post<TokenPair>('/api/v1/auth/dev-login', { user_id: userId } satisfies DevLoginBody, { auth: false })

export const wechatLogin = (code: string) =>
  http.post<WechatLoginResult>('/api/v1/auth/wechat', { code } satisfies WechatLoginBody, { auth: false })

export const passwordLogin = (phone: string, password: string) =>
  http.post<TokenPair>('/api/v1/auth/login', { phone, password } satisfies PasswordLoginBody, { auth: false })

/** Revokes the refresh token's session on the server (204). */
export const logout = (refreshToken: string) =>
  http.post<void>('/api/v1/auth/logout', { refresh_token: refreshToken } satisfies RefreshBody, {
    auth: false,
    toast: false,
  })
