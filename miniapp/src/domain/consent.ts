/**
 * WeChat subscribe-message consent (docs/notifications.md, the backend's ADR 9). On mp-weixin the app may send a
 * person one message per "accept" they gave to a template; consent can only be asked inside a tap handler, so:
 *   - `prefetch()` when the page loads (the template list needs a request, which must not happen in the tap);
 *   - `ask(kinds)` as the first thing in the tap that submits a report or accepts a task: it opens WeChat's
 *     dialog at once with the templates of those kinds (at most 3, WeChat's limit) and records the answer with
 *     POST /api/v1/notifications/subscriptions (without the `errMsg` key);
 * On H5 there is no such dialog: both are no-ops.
 */
import type { ConsentChoice, Template } from '@/api/types'

export const CHOICES: readonly ConsentChoice[] = ['accept', 'reject', 'ban', 'filter']
const MAX_PER_ASK = 3

export interface ConsentDeps {
  platform: string
  templates: () => Promise<Template[]>
  record: (results: Record<string, ConsentChoice>) => Promise<unknown>
  /** uni.requestSubscribeMessage, resolving with its answer (template id → choice, plus errMsg), or null on failure. */
  request: (tmplIds: string[]) => Promise<Record<string, unknown> | null>
}

export function createConsent(deps: ConsentDeps) {
  let cached: Template[] | null = null
  let pending: Promise<void> | null = null
  const enabled = deps.platform === 'mp-weixin'

  function prefetch(): Promise<void> {
    if (!enabled || cached) return Promise.resolve()
    pending ??= deps
      .templates()
      .then((t) => {
        cached = t
      })
      .catch(() => {
        pending = null // offline: try again on the next page load
      })
    return pending
  }

  /** The template ids the server has for these kinds (what the dialog will show). */
  function idsFor(kinds: string[]): string[] {
    const ids = (cached ?? []).filter((t) => kinds.includes(t.kind)).map((t) => t.template_id)
    return [...new Set(ids)].slice(0, MAX_PER_ASK)
  }

  /** Ask now (call synchronously in a tap handler); resolves with what was recorded, or null if nothing was asked. */
  function ask(kinds: string[]): Promise<Record<string, ConsentChoice> | null> {
    if (!enabled) return Promise.resolve(null)
    const ids = idsFor(kinds)
    if (!ids.length) return Promise.resolve(null)
    return deps.request(ids).then(async (answer) => {
      if (!answer) return null
      const results: Record<string, ConsentChoice> = {}
      for (const id of ids) {
        const choice = answer[id]
        if (typeof choice === 'string' && (CHOICES as readonly string[]).includes(choice)) {
          results[id] = choice as ConsentChoice
        }
      }
      if (!Object.keys(results).length) return null
      try {
        await deps.record(results)
      } catch {
        return null // the consent stays with WeChat; the server just cannot count it this time
      }
      return results
    })
  }

  return { prefetch, ask, idsFor }
}
