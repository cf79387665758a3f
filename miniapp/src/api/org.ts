/** /api/v1/org and /api/v1/users: units (compounds, buildings) for pickers, departments, people in my area. */
import { http } from '@/http'
import type { Department, OrgLevel, PageOf, Unit, UserOut } from './types'

export const units = (q: { level?: OrgLevel; parent_id?: number; q?: string; cursor?: string | null; limit?: number }) =>
  http.get<PageOf<Unit>>('/api/v1/org/units', { limit: 50, ...q })
export const unit = (id: number) => http.get<Unit>(`/api/v1/org/units/${id}`)
export const departments = () => http.get<Department[]>('/api/v1/org/departments')
/** Staff only: people in my area; `q` matches the start of a name or phone number. */
export const people = (q: { q?: string; role?: string; cursor?: string | null }) =>
  http.get<PageOf<UserOut>>('/api/v1/users', { limit: 20, ...q })
