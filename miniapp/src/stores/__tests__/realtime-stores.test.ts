import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { InboxItem, ReportItem, Task } from '@/api/types'
import { saveTokens } from '@/http'
import { errorBody } from '@/test/fake-backend'
import { uniStub } from '@/test/uni-stub'
import { useInboxStore } from '../inbox'
import { useReportQueueStore } from '../report-queue'
import { TAKEN_MESSAGE, useTasksStore } from '../tasks'

function inboxItem(id: number, kind: string, data: Record<string, unknown> = {}): InboxItem {
  return { id, kind, kind_label: kind, title: `通知 ${id}`, body: '', link: null, urgency: 'normal', silent: false, data,
    created_at: '2026-11-22T10:00:00+08:00', read_at: null }
}

function report(id: number, status = 'submitted'): ReportItem {
  return { id, category: 'facilities.streetlight', category_name: '路灯不亮', summary: `上报 ${id}`, status,
    status_label: status === 'submitted' ? '待受理' : '办理中', level: 'grid', level_label: '网格', grid_name: '第1网格',
    community_name: '土门墩社区', due_at: null, overdue: false, support_count: 0,
    created_at: '2026-11-22T10:00:00+08:00' } as ReportItem
}

function task(id: number, extra: Partial<Task> = {}): Task {
  return { id, kind: 'delivery', help_kind: null, title: `送货 ${id}`, note: null, status: 'offered', status_label: '待接单',
    is_late: false, due_at: '2026-11-22T19:00:00+08:00', created_at: '2026-11-22T15:00:00+08:00', order_id: 1, store_id: 1,
    community_id: 2, place: '兰工坪家属院', address: null, requester_id: 22, requester_name: '宋庆', volunteer_id: null,
    distance_m: 286, round: 0, wave: 1, escalated: false, accepted_at: null, picked_up_at: null, delivered_at: null,
    confirmed_at: null, photo_media_id: null, ...extra } as Task
}

beforeEach(() => {
  setActivePinia(createPinia())
  saveTokens(uniStub().backend.issue(12).data as { access_token: string; refresh_token: string })
})

describe('inbox store', () => {
  it('merges the HTTP page with live items, newest first, each once, and counts unread', async () => {
    const { backend } = uniStub()
    backend.routes.set('GET /api/v1/notifications', () => ({
      statusCode: 200,
      data: { items: [inboxItem(9, 'a'), inboxItem(7, 'a')], next_cursor: null, unread: 2 },
    }))
    const inbox = useInboxStore()
    inbox.receive(inboxItem(10, 'a')) // arrived over the socket before the page answered
    await inbox.load()
    inbox.receive(inboxItem(9, 'a')) // the socket repeats one the page had
    inbox.receive(inboxItem(11, 'a'))
    expect(inbox.items.map((i) => i.id)).toEqual([11, 10, 9, 7])
    expect(inbox.newestId).toBe(11)
    expect(inbox.unread).toBe(3)
  })

  it('tells listeners of a kind or a family, and stops when unsubscribed', () => {
    const inbox = useInboxStore()
    const exact = vi.fn()
    const family = vi.fn()
    const off = inbox.onKind('report.created', exact)
    inbox.onKind('report', family)
    inbox.receive(inboxItem(1, 'report.created'))
    inbox.receive(inboxItem(2, 'report.status'))
    inbox.receive(inboxItem(3, 'reports_other'))
    off()
    inbox.receive(inboxItem(4, 'report.created'))
    expect(exact.mock.calls.map((c) => c[0].id)).toEqual([1])
    expect(family.mock.calls.map((c) => c[0].id)).toEqual([1, 2, 4])
  })
})

describe('report queue: live arrivals', () => {
  it('puts a report that arrives over the socket on top of 待受理, once, with a badge until looked at', async () => {
    const { backend } = uniStub()
    backend.routes.set('GET /api/v1/reports/queue', () => ({ statusCode: 200, data: { items: [report(4)], next_cursor: null } }))
    backend.routes.set('GET /api/v1/reports/151', () => ({ statusCode: 200, data: { ...report(151), can_handle: true } }))
    const q = useReportQueueStore()
    q.subscribe()
    await q.load('new')
    const inbox = useInboxStore()
    inbox.receive(inboxItem(1213, 'report.created', { report_id: 151 }))
    await vi.waitFor(() => expect(q.lists.new.map((r) => r.id)).toEqual([151, 4]))
    inbox.receive(inboxItem(1214, 'report.escalated', { report_id: 151 })) // same report again
    await vi.waitFor(() => expect(backend.requests.filter((r) => r.path === '/api/v1/reports/151')).toHaveLength(2))
    expect(q.lists.new.map((r) => r.id)).toEqual([151, 4])
    expect(q.arrivals).toEqual([151])
    // a reload that was read before the report committed does not drop it
    await q.load('new')
    expect(q.lists.new.map((r) => r.id)).toEqual([151, 4])
    q.seen()
    expect(q.arrivals).toEqual([])
    expect(q.fresh).toEqual([151])
  })

  it('ignores a report that is no longer waiting (someone accepted it first) or that I cannot see', async () => {
    const { backend } = uniStub()
    backend.routes.set('GET /api/v1/reports/5', () => ({ statusCode: 200, data: report(5, 'accepted') }))
    backend.routes.set('GET /api/v1/reports/6', () => ({ statusCode: 404, data: errorBody('ReportNotFound', '找不到该上报') }))
    const q = useReportQueueStore()
    await q.arrived(inboxItem(1, 'report.created', { report_id: 5 }))
    await q.arrived(inboxItem(2, 'report.created', { report_id: 6 }))
    await q.arrived(inboxItem(3, 'report.created', {}))
    expect(q.lists.new).toEqual([])
    expect(q.arrivals).toEqual([])
    expect(uniStub().toasts).toEqual([]) // background fetches never toast
  })

  it('moves a report out of 待受理 once it was accepted', () => {
    const q = useReportQueueStore()
    q.lists.new = [report(1), report(2)]
    q.arrivals = [1]
    q.settled(1, 'accepted')
    expect(q.lists.new.map((r) => r.id)).toEqual([2])
    expect(q.arrivals).toEqual([])
  })
})

describe('tasks store: the accept race', () => {
  it('the winner gets the task; it leaves the hall and joins my tasks', async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/tasks/1/accept', () => ({ statusCode: 200, data: task(1, { status: 'accepted', volunteer_id: 101 }) }))
    const s = useTasksStore()
    s.hall = [task(1), task(2)]
    const out = await s.accept(1)
    expect(out.ok).toBe(true)
    expect(s.hall.map((t) => t.id)).toEqual([2])
    expect(s.assigned.map((t) => t.id)).toEqual([1])
  })

  it('the loser gets a kind message, not an error toast, and the task leaves the hall', async () => {
    const { backend, toasts } = uniStub()
    backend.routes.set('POST /api/v1/tasks/1/accept', () => ({
      statusCode: 409,
      data: errorBody('TaskAlreadyClaimed', '手慢了，这个任务已被其他志愿者接单，感谢您的热心！', { task_id: 1 }),
    }))
    const s = useTasksStore()
    s.hall = [task(1)]
    const out = await s.accept(1)
    expect(out).toEqual({ ok: false, reason: 'taken', message: '手慢了，这个任务已被其他志愿者接单，感谢您的热心！' })
    expect(toasts).toEqual([])
    expect(s.hall).toEqual([])
    expect(s.goneNotes[1]).toContain('手慢了')
    expect(backend.requests.filter((r) => r.path === '/api/v1/tasks/1/accept')).toHaveLength(1) // 409 is not retried
  })

  it('says plainly when I already hold as many tasks as I may', async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/tasks/3/accept', () => ({
      statusCode: 409, data: errorBody('TooManyActiveTasks', '您手上的任务已达上限，请先完成正在进行的任务'),
    }))
    const s = useTasksStore()
    s.hall = [task(3)]
    const out = await s.accept(3)
    expect(out).toMatchObject({ ok: false, reason: 'busy' })
    expect(s.hall.map((t) => t.id)).toEqual([3]) // still mine to take later
  })

  it('an offer withdrawn over the socket leaves the hall with the same kind words', () => {
    const s = useTasksStore()
    s.hall = [task(7), task(8)]
    s.subscribe(() => null)
    useInboxStore().receive(inboxItem(50, 'tasks.withdrawn', { task_id: 7 }))
    expect(s.hall.map((t) => t.id)).toEqual([8])
    expect(s.goneNotes[7]).toBe(TAKEN_MESSAGE)
  })

  it('knows a person who has not registered as a volunteer yet (no toast)', async () => {
    const { backend, toasts } = uniStub()
    backend.routes.set('GET /api/v1/volunteers/me', () => ({ statusCode: 404, data: errorBody('VolunteerNotFound', '您还没有登记为志愿者') }))
    const s = useTasksStore()
    expect(await s.loadProfile()).toBeNull()
    expect(s.profile).toBeNull()
    expect(toasts).toEqual([])
  })
})
