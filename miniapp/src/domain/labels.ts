/** Words the pages show for codes the API returns, kept in one place. */

export const RATING_WORDS = ['', '很不满意', '不满意', '一般', '满意', '很满意']

/** Status → a colour class for the status tag (the words come from the server's `status_label`). */
export function statusTone(status: string): 'wait' | 'doing' | 'done' | 'bad' {
  if (['submitted', 'offered', 'need_info', 'pending', 'confirmed_order'].includes(status)) return 'wait'
  if (['accepted', 'picked_up', 'handed_over', 'syncing'].includes(status)) return 'doing'
  if (['resolved', 'closed', 'delivered', 'confirmed', 'completed', 'created', 'duplicate', 'updated', 'merged'].includes(status)) return 'done'
  return 'bad'
}

/** The steps of a delivery or help task, for the progress strip. */
export function taskSteps(kind: string): { status: string; label: string }[] {
  const steps = [{ status: 'accepted', label: '已接单' }]
  if (kind === 'delivery') steps.push({ status: 'picked_up', label: '已取货' })
  steps.push({ status: 'delivered', label: '已送达' }, { status: 'confirmed', label: '居民确认' })
  return steps
}

const ORDER = ['offered', 'accepted', 'picked_up', 'delivered', 'confirmed']

/** How far a task got: the index of its status in the task's steps (−1 before acceptance). */
export function taskProgress(kind: string, status: string): number {
  const steps = taskSteps(kind).map((s) => s.status)
  const rank = ORDER.indexOf(status)
  let done = -1
  steps.forEach((s, i) => {
    if (ORDER.indexOf(s) <= rank) done = i
  })
  return done
}
