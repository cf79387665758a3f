/** /api/v1/reports: 说 (file, similar, 我也遇到), lists, the timeline, 办/评 transitions, whistles and the 晒 board. */
import { http } from '@/http'
import type {
  AcceptIn,
  Board,
  BoardRow,
  Category,
  EscalateIn,
  PageOf,
  ProgressIn,
  ProvideInfoIn,
  RateIn,
  Report,
  ReportIn,
  ReportItem,
  ReportStatus,
  RequestInfoIn,
  ResolveIn,
  SimilarReport,
  SupportOut,
  TimelineEvent,
  Whistle,
  WhistleIn,
  WhistleTarget,
} from './types'

const R = '/api/v1/reports'
export type QueueView = 'new' | 'mine' | 'overdue'

export const categories = () => http.get<Category[]>(`${R}/categories`)
export const similar = (q: { category: string; lat: number; lng: number; radius_m?: number }) =>
  http.get<SimilarReport[]>(`${R}/similar`, q, { toast: false })
export const submit = (body: ReportIn) => http.post<Report>(R, body)
export const support = (id: number) => http.post<SupportOut>(`${R}/${id}/support`, {})

export const mine = (cursor?: string | null, status?: ReportStatus) =>
  http.get<PageOf<ReportItem>>(`${R}/mine`, { cursor, status, limit: 20 })
export const queue = (view: QueueView, cursor?: string | null) =>
  http.get<PageOf<ReportItem>>(`${R}/queue`, { view, cursor, limit: 20 })
export const get = (id: number, opts: { toast?: boolean } = {}) => http.get<Report>(`${R}/${id}`, undefined, opts)
export const timeline = (id: number) => http.get<TimelineEvent[]>(`${R}/${id}/timeline`)

export const accept = (id: number, body: AcceptIn) => http.post<Report>(`${R}/${id}/accept`, body)
export const requestInfo = (id: number, body: RequestInfoIn) => http.post<Report>(`${R}/${id}/request-info`, body)
export const provideInfo = (id: number, body: ProvideInfoIn) => http.post<Report>(`${R}/${id}/provide-info`, body)
export const resolve = (id: number, body: ResolveIn) => http.post<Report>(`${R}/${id}/resolve`, body)
export const escalate = (id: number, body: EscalateIn) => http.post<Report>(`${R}/${id}/escalate`, body)
export const rate = (id: number, body: RateIn) => http.post<Report>(`${R}/${id}/rate`, body)

export const whistles = (id: number) => http.get<Whistle[]>(`${R}/${id}/whistles`)
export const blowWhistle = (id: number, body: WhistleIn) => http.post<Whistle>(`${R}/${id}/whistles`, body)
export const myWhistleTargets = (cursor?: string | null) =>
  http.get<PageOf<WhistleTarget>>(`${R}/whistle-targets`, { cursor, limit: 50 })
export const acknowledgeWhistle = (targetId: number) =>
  http.post<WhistleTarget>(`${R}/whistle-targets/${targetId}/acknowledge`, {})
export const whistleProgress = (targetId: number, body: ProgressIn) =>
  http.post<WhistleTarget>(`${R}/whistle-targets/${targetId}/progress`, body)

/** The public monthly board (no login needed, but the token does no harm). */
export const board = (communityId: number, month?: string) =>
  http.get<Board>(`${R}/board/${communityId}`, { month })
export const boardRows = (communityId: number, month?: string, cursor?: string | null) =>
  http.get<PageOf<BoardRow>>(`${R}/board/${communityId}/rows`, { month, cursor, limit: 20 })
