import { ref } from 'vue'
import * as orgApi from '@/api/org'
import type { RoleAssignment } from '@/api/types'

const cache = new Map<number, { id: number; name: string } | null>()

/**
 * The community a role assignment belongs to: the unit itself for a resident or community staff, the parent
 * chain for a grid or compound. Walks up with GET /org/units/{id} (at most a few hops) and remembers the answer.
 */
export async function communityOf(role: RoleAssignment | null): Promise<{ id: number; name: string } | null> {
  const start = role?.org_unit_id
  if (!start) return null
  if (cache.has(start)) return cache.get(start)!
  let id: number | null = start
  let found: { id: number; name: string } | null = null
  for (let hops = 0; id && hops < 5; hops++) {
    const unit = await orgApi.unit(id)
    if (unit.level === 'community') {
      found = { id: unit.id, name: unit.name }
      break
    }
    if (unit.level === 'street') break
    id = unit.parent_id ?? null
  }
  cache.set(start, found)
  return found
}

export function useCommunity() {
  const community = ref<{ id: number; name: string } | null>(null)
  async function resolve(role: RoleAssignment | null) {
    community.value = await communityOf(role)
    return community.value
  }
  return { community, resolve }
}
