/** /api/v1/visits: the plan, check-ins (online and the offline batch sync) and the monthly 台账. */
import { http } from '@/http'
import type { LedgerReport, Plan, SyncIn, SyncOut, VisitMonth, VisitTag } from './types'

const V = '/api/v1/visits'

/** `toast: false`: offline, the plan page shows the last plan it kept instead of an error. */
export const plan = (at?: { lat: number; lng: number } | null) =>
  http.get<Plan>(`${V}/plan`, at ? { lat: at.lat, lng: at.lng } : undefined, { toast: false })
export const tags = () => http.get<VisitTag[]>(`${V}/tags`, undefined, { toast: false })
/** The offline queue calls this and reports per item itself: no toast, no retries beyond the client's own. */
export const sync = (body: SyncIn) => http.post<SyncOut>(`${V}/sync`, body, { toast: false })
export const myMonth = (month?: string) => http.get<VisitMonth>(`${V}/months/mine`, { month })
export const submitMonth = (month: string) => http.post<VisitMonth>(`${V}/months/${month}/submit`, {})
export const report = (unitId: number, month?: string) => http.get<LedgerReport>(`${V}/report`, { unit_id: unitId, month })
