/**
 * API types, hand-mirrored from the contract agreed with the backend while `shared/openapi.json`
 * does not exist yet. Once it does, `npm run gen:api` writes `schema.d.ts` and these become aliases of
 * the generated `components['schemas'][...]` (the names below stay, so callers do not change).
 */

export type RoleName =
  | 'resident'
  | 'volunteer'
  | 'party_member'
  | 'building_head'
  | 'grid_worker'
  | 'grid_leader'
  | 'community_staff'
  | 'street_staff'
  | 'department_staff'
  | 'admin'

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
}

export interface WechatLoginResult extends TokenPair {
  is_new_user: boolean
}

export interface DevAccount {
  user_id: number
  name: string
  roles: RoleName[]
  label: string
}

export interface DevAccountList {
  accounts: DevAccount[]
}

export interface RoleAssignment {
  role: RoleName
  org_unit_id: number | null
  org_unit_name: string | null
  org_unit_path: string | null
  department_id: number | null
  department_name: string | null
}

export interface Me {
  id: number
  name: string
  /** Already masked by the server ("138****0000"); the client never sees the full number here. */
  phone_masked: string | null
  roles: RoleAssignment[]
  household: { id: number; label: string } | null
}
