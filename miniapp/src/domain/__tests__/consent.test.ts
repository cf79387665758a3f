import { describe, expect, it, vi } from 'vitest'
import type { Template } from '@/api/types'
import { createConsent, type ConsentDeps } from '../consent'

const TEMPLATES: Template[] = [
  { kind: 'report.status', kind_label: '我的上报进展', template_id: 'tpl-status' },
  { kind: 'tasks.confirmed', kind_label: '服务已确认', template_id: 'tpl-confirmed' },
  { kind: 'tasks.cancelled', kind_label: '任务已取消', template_id: 'tpl-cancel' },
  { kind: 'tasks.offer', kind_label: '新任务', template_id: 'tpl-offer' },
  { kind: 'tasks.late', kind_label: '超时', template_id: 'tpl-late' },
]

function deps(platform: string, answer: Record<string, unknown> | null = {}): ConsentDeps & { recorded: unknown[] } {
  const recorded: unknown[] = []
  return {
    platform,
    recorded,
    templates: vi.fn(async () => TEMPLATES),
    record: vi.fn(async (r) => void recorded.push(r)),
    request: vi.fn(async () => answer),
  }
}

describe('subscribe-message consent', () => {
  it('is a no-op on H5: no template request, no dialog, nothing recorded', async () => {
    const d = deps('h5')
    const c = createConsent(d)
    await c.prefetch()
    expect(await c.ask(['report.status'])).toBeNull()
    expect(d.templates).not.toHaveBeenCalled()
    expect(d.request).not.toHaveBeenCalled()
    expect(d.record).not.toHaveBeenCalled()
  })

  it('on mp-weixin asks for the templates of the kinds (at most 3) and records the answer without errMsg', async () => {
    const d = deps('mp-weixin', { errMsg: 'requestSubscribeMessage:ok', 'tpl-confirmed': 'accept', 'tpl-cancel': 'reject', 'tpl-offer': 'ban' })
    const c = createConsent(d)
    await c.prefetch()
    const out = await c.ask(['tasks.confirmed', 'tasks.cancelled', 'tasks.offer', 'tasks.late'])
    expect(d.request).toHaveBeenCalledWith(['tpl-confirmed', 'tpl-cancel', 'tpl-offer'])
    expect(out).toEqual({ 'tpl-confirmed': 'accept', 'tpl-cancel': 'reject', 'tpl-offer': 'ban' })
    expect(d.recorded).toEqual([{ 'tpl-confirmed': 'accept', 'tpl-cancel': 'reject', 'tpl-offer': 'ban' }])
  })

  it('asks nothing when the server has no template for those kinds, or before the list was fetched', async () => {
    const d = deps('mp-weixin')
    const c = createConsent(d)
    expect(await c.ask(['report.status'])).toBeNull() // not prefetched: the dialog cannot wait for a request
    await c.prefetch()
    expect(await c.ask(['visits.due'])).toBeNull()
    expect(d.request).not.toHaveBeenCalled()
  })

  it('records nothing when the person closed the dialog or WeChat failed', async () => {
    const d = deps('mp-weixin', null)
    const c = createConsent(d)
    await c.prefetch()
    expect(await c.ask(['report.status'])).toBeNull()
    expect(d.record).not.toHaveBeenCalled()
  })

  it('drops answers for templates it did not ask about and values WeChat does not define', async () => {
    const d = deps('mp-weixin', { 'tpl-status': 'accept', 'tpl-other': 'accept', errMsg: 'ok', 'tpl-x': 'maybe' })
    const c = createConsent(d)
    await c.prefetch()
    expect(await c.ask(['report.status'])).toEqual({ 'tpl-status': 'accept' })
  })

  it('fetches the template list once', async () => {
    const d = deps('mp-weixin')
    const c = createConsent(d)
    await Promise.all([c.prefetch(), c.prefetch()])
    await c.prefetch()
    expect(d.templates).toHaveBeenCalledTimes(1)
  })
})
