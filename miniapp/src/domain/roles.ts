/** Role names the backend uses, their Chinese labels, and how a role assignment is identified on the client. */
import type { RoleAssignment, RoleName } from '@/api/types'

export const ROLE_LABELS: Record<RoleName, string> = {
  resident: '居民',
  volunteer: '志愿者',
  party_member: '党员',
  building_head: '楼院长',
  grid_worker: '网格员',
  grid_leader: '网格长',
  community_staff: '社区工作人员',
  street_staff: '街道工作人员',
  department_staff: '部门工作人员',
  admin: '管理员',
}

export function roleLabel(role: string): string {
  return ROLE_LABELS[role as RoleName] ?? role
}

/**
 * One person can hold the same role in two places (网格员 of two grids), so a selection is the
 * role plus where it applies, not the bare role name.
 */
export function roleKey(a: Pick<RoleAssignment, 'role' | 'org_unit_id' | 'department_id'>): string {
  return `${a.role}@${a.org_unit_id ?? '-'}/${a.department_id ?? '-'}`
}

/** "网格员 · 第1网格" — what the role switcher and the home header show. */
export function roleTitle(a: RoleAssignment): string {
  const where = a.department_name ?? a.org_unit_name
  return where ? `${roleLabel(a.role)} · ${where}` : roleLabel(a.role)
}

export const STAFF_ROLES = ['grid_worker', 'grid_leader', 'community_staff', 'street_staff', 'admin'] as const
export const COMMUNITY_STAFF_ROLES = ['community_staff', 'street_staff', 'admin'] as const

/** Does the person hold any of these roles (in any place)? The server decides what each allows; this only shapes the UI. */
export function holdsAny(roles: Pick<RoleAssignment, 'role'>[], wanted: readonly string[]): boolean {
  return roles.some((r) => wanted.includes(r.role))
}
