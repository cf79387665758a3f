/** /api/v1/notifications: the inbox (the truth behind the socket), read marks, and WeChat subscribe consent. */
import { http } from '@/http'
import type { ConsentChoice, InboxItem, InboxPage, SubscriptionsOut, Template, UnreadCount } from './types'

const N = '/api/v1/notifications'

export const inbox = (cursor?: string | null, limit = 20, opts: { toast?: boolean } = {}) =>
  http.get<InboxPage>(N, { cursor, limit }, opts)
export const unreadCount = () => http.get<UnreadCount>(`${N}/unread-count`, undefined, { toast: false })
export const markRead = (id: number) => http.post<InboxItem>(`${N}/${id}/read`, {}, { toast: false })
export const readAll = (upTo?: number) => http.post<{ updated: number }>(`${N}/read-all`, { up_to: upTo ?? null })

export const templates = () => http.get<Template[]>(`${N}/templates`, undefined, { toast: false })
export const recordSubscriptions = (results: Record<string, ConsentChoice>) =>
  http.post<SubscriptionsOut>(`${N}/subscriptions`, { results }, { toast: false })
