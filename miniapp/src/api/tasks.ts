/** /api/v1/tasks: help requests, the volunteer's task hall, accept and the steps of a task. */
import { http } from '@/http'
import type { DeliverIn, HelpKind, HelpRequestIn, PageOf, Task, TaskEvent, TaskStatus } from './types'

const T = '/api/v1/tasks'

export const helpKinds = () => http.get<HelpKind[]>(`${T}/help-kinds`)
export const requestHelp = (body: HelpRequestIn) => http.post<Task>(`${T}/help`, body)
export const mine = (cursor?: string | null) => http.get<PageOf<Task>>(`${T}/mine`, { cursor, limit: 20 })

/** Offers made to me; `toast: false` because "not a volunteer yet" is a state the page explains. */
export const hall = (at?: { lat: number; lng: number } | null) =>
  http.get<Task[]>(`${T}/hall`, at ? { lat: at.lat, lng: at.lng } : undefined, { toast: false })
export const assigned = () => http.get<Task[]>(`${T}/assigned`, undefined, { toast: false })
/** A lost race is a 409 TaskAlreadyClaimed that the page words kindly: never toasted here. */
export const accept = (id: number) => http.post<Task>(`${T}/${id}/accept`, {}, { toast: false })
export const decline = (id: number) => http.post<void>(`${T}/${id}/decline`, {})
export const deliver = (id: number, body: DeliverIn) => http.post<Task>(`${T}/${id}/deliver`, body)
export const drop = (id: number, reason?: string) => http.post<Task>(`${T}/${id}/drop`, { reason })
export const confirm = (id: number, reason?: string) => http.post<Task>(`${T}/${id}/confirm`, { reason })
export const cancel = (id: number, reason?: string) => http.post<Task>(`${T}/${id}/cancel`, { reason })
export const get = (id: number) => http.get<Task>(`${T}/${id}`)
export const history = (id: number) => http.get<TaskEvent[]>(`${T}/${id}/history`)

// staff
export const staffList = (q: { status?: TaskStatus; late?: boolean; cursor?: string | null }) =>
  http.get<PageOf<Task>>(T, { limit: 50, ...q })
/** Store staff confirm the volunteer took the goods (they leave the stock). */
export const pickUp = (id: number) => http.post<Task>(`${T}/${id}/pickup`, {})
