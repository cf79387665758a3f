/** /api/v1/auth/*: sign-in flows. Token refresh is not here: it belongs to src/http (single-flight). */
import { http } from '@/http'
import type { DevAccountList, TokenPair, WechatLoginResult } from './types'

/** Demo accounts; the server answers 404 outside development, so errors are not toasted. */
export const listDevAccounts = () =>
  http.get<DevAccountList>('/api/v1/auth/dev-login', undefined, { auth: false, toast: false })

export const devLogin = (userId: number) =>
  http.post<TokenPair>('/api/v1/auth/dev-login', { user_id: userId }, { auth: false })

export const wechatLogin = (code: string) =>
  http.post<WechatLoginResult>('/api/v1/auth/wechat', { code }, { auth: false })

export const passwordLogin = (phone: string, password: string) =>
  http.post<TokenPair>('/api/v1/auth/login', { phone, password }, { auth: false })

/** Revokes the refresh token's family on the server (204). */
export const logout = (refreshToken: string) =>
  http.post<void>('/api/v1/auth/logout', { refresh_token: refreshToken }, { auth: false, toast: false })
