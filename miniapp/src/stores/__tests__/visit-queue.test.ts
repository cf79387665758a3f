import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { saveTokens } from '@/http'
import { errorBody, type FakeRequest } from '@/test/fake-backend'
import { uniStub } from '@/test/uni-stub'
import { RETRY_DELAYS_MS, useVisitQueueStore, type QueuedVisit } from '../visit-queue'

interface SentVisit {
  client_id: string
  household_id: number
  notes: string | null
  at_home: boolean
  photo_ids: number[]
  base_version: number | null
  visited_at: string
}

/**
 * The server side of /visits/sync as docs/visits.md describes it: one row per client id; the same content again is
 * `duplicate`, other content without a base version is a `conflict`, an edit on the current version is `updated`,
 * an unknown household is `rejected`. Tests can make it store a batch and then lose the answer.
 */
function fakeVisitsServer() {
  const { backend } = uniStub()
  const stored = new Map<string, { visit: SentVisit; version: number; id: number }>()
  const batches: SentVisit[][] = []
  let seq = 100
  let uploads = 0
  const server = { stored, batches, loseAnswers: 0, rejectBatchWith422: null as string | null, uploads: () => uploads }
  backend.routes.set('POST /api/v1/media', (req: FakeRequest) => {
    uploads++
    const path = (req.data as { filePath: string }).filePath
    if (path.includes('gone')) return { statusCode: 400, data: errorBody('BadUpload', '照片文件已失效') }
    return { statusCode: 201, data: { id: 500 + uploads, url: `/api/v1/media/${500 + uploads}/content` } }
  })
  backend.routes.set('POST /api/v1/visits/sync', (req: FakeRequest) => {
    const body = req.data as { sent_at: string; items: SentVisit[] }
    batches.push(body.items)
    if (server.rejectBatchWith422 && body.items.some((v) => v.notes === server.rejectBatchWith422)) {
      return { statusCode: 422, data: errorBody('ValidationFailed', '提交的内容不符合要求：备注太长') }
    }
    const results = body.items.map((v) => {
      const view = (row: { visit: SentVisit; version: number; id: number }) => ({
        id: row.id, version: row.version, flagged: false, flags: [], ...row.visit,
      })
      if (v.household_id === 404) {
        return { client_id: v.client_id, outcome: 'rejected', error: errorBody('HouseholdNotFound', '找不到该住户') }
      }
      const row = stored.get(v.client_id)
      if (!row) {
        const created = { visit: v, version: 1, id: ++seq }
        stored.set(v.client_id, created)
        return { client_id: v.client_id, outcome: 'created', visit: view(created) }
      }
      const same = row.visit.notes === v.notes && row.visit.at_home === v.at_home
      if (same && v.base_version === null) return { client_id: v.client_id, outcome: 'duplicate', visit: view(row) }
      if (v.base_version === row.version) {
        row.visit = v
        row.version++
        return { client_id: v.client_id, outcome: 'updated', visit: view(row) }
      }
      return {
        client_id: v.client_id, outcome: 'conflict', visit: view(row),
        conflict: { reason: v.base_version === null ? 'different_content' : 'stale_version',
          message: '服务器上已有这条走访，内容不同', server_version: row.version, fields: ['notes'] },
      }
    })
    if (server.loseAnswers > 0) {
      server.loseAnswers--
      return Promise.reject(new Error('answer lost')) as never
    }
    return { statusCode: 200, data: { received_at: body.sent_at, skew_seconds: 0, clock_skewed: false, results } }
  })
  return server
}

const HOUSEHOLD = { household_id: 41, household_label: '2号楼 2单元301' }

function signedInQueue(userId = 20) {
  saveTokens(uniStub().backend.issue(12).data as { access_token: string; refresh_token: string })
  const q = useVisitQueueStore()
  q.bind(userId)
  return q
}

/** uni.request fails as if there were no signal (every retry too). */
function offline(on: boolean) {
  uniStub().backend.fault = on ? (req) => (req.path.startsWith('/api/v1/visits') || req.path === '/api/v1/media' ? 'network' : undefined) : () => undefined
}

beforeEach(() => {
  setActivePinia(createPinia())
})
afterEach(() => {
  vi.useRealTimers()
})

describe('recording with no signal', () => {
  it('persists the check-in on the phone before anything is sent', () => {
    fakeVisitsServer()
    const q = signedInQueue()
    offline(true)
    const v = q.record({ ...HOUSEHOLD, at_home: true, notes: '老人身体好', lat: 36.06, lng: 103.72, accuracy_m: 12 })
    const stored = uniStub().storage.get('jinlin.visitQueue.20') as QueuedVisit[]
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ client_id: v.client_id, state: 'pending', notes: '老人身体好', lat: 36.06 })
    expect(stored[0].visited_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/)
  })

  it('keeps it waiting while offline and sends it with the SAME client id once the network is back', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    offline(true)
    const v = q.record({ ...HOUSEHOLD, at_home: true, notes: '一切正常' })
    await q.sync()
    expect(q.items[0].state).toBe('pending')
    expect(q.items[0].message).toContain('没有网络')
    expect(q.items[0].attempts).toBe(1)
    expect(server.batches).toHaveLength(0)

    offline(false)
    uniStub().setOnline(true) // uni.onNetworkStatusChange fires
    await vi.waitFor(() => expect(q.items[0].state).toBe('created'))
    expect(server.batches).toHaveLength(1)
    expect(server.batches[0][0].client_id).toBe(v.client_id)
    expect(server.stored.size).toBe(1)
    expect(q.pendingCount).toBe(0)
    expect((uniStub().storage.get('jinlin.visitQueue.20') as QueuedVisit[])[0].state).toBe('created')
  })

  it('retries by itself after a backoff when the network does not say it is back', async () => {
    vi.useFakeTimers()
    const server = fakeVisitsServer()
    const q = signedInQueue()
    offline(true)
    q.record({ ...HOUSEHOLD, at_home: false })
    const first = q.sync()
    await vi.advanceTimersByTimeAsync(50) // the http layer's own quick retries
    await first
    expect(q.items[0].state).toBe('pending')
    offline(false)
    await vi.advanceTimersByTimeAsync(RETRY_DELAYS_MS[0] - 100)
    expect(server.batches).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(200)
    expect(q.items[0].state).toBe('created')
  })

  it('a restarted app finds the waiting check-ins and sends them', async () => {
    const server = fakeVisitsServer()
    const first = signedInQueue()
    offline(true)
    const v = first.record({ ...HOUSEHOLD, at_home: true, notes: '重启前' })
    await first.sync()

    setActivePinia(createPinia()) // the app was killed and opened again
    offline(false)
    const again = useVisitQueueStore()
    again.bind(20)
    expect(again.items.map((i) => i.client_id)).toEqual([v.client_id])
    await again.sync()
    expect(again.items[0].state).toBe('created')
    expect(server.batches.flat().map((b) => b.client_id)).toEqual([v.client_id])
  })

  it("keeps each person's queue apart on a shared phone", () => {
    fakeVisitsServer()
    offline(true)
    signedInQueue(20).record({ ...HOUSEHOLD, at_home: true })
    setActivePinia(createPinia())
    const other = useVisitQueueStore()
    other.bind(113)
    expect(other.items).toEqual([])
  })
})

describe('answers per item', () => {
  it('shows a resend whose first answer was lost as already uploaded, not as a second visit', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    server.loseAnswers = 3 // the server stored it, the phone never heard (nor on the http layer's 2 retries)
    q.record({ ...HOUSEHOLD, at_home: true, notes: '信号差' })
    await q.sync()
    expect(q.items[0].state).toBe('pending')
    await q.sync()
    expect(q.items[0].state).toBe('duplicate')
    expect(server.stored.size).toBe(1)
    const ids = new Set(server.batches.flat().map((b) => b.client_id))
    expect(ids.size).toBe(1)
  })

  it('marks a refused item with the server message and still uploads the rest of the batch', async () => {
    fakeVisitsServer()
    const q = signedInQueue()
    offline(true)
    q.record({ household_id: 404, household_label: '已拆除', at_home: true })
    q.record({ ...HOUSEHOLD, at_home: true })
    await q.sync()
    offline(false)
    await q.sync()
    const byHousehold = Object.fromEntries(q.items.map((v) => [v.household_id, v]))
    expect(byHousehold[404].state).toBe('rejected')
    expect(byHousehold[404].message).toBe('找不到该住户')
    expect(byHousehold[41].state).toBe('created')
    expect(q.rejectedCount).toBe(1)
  })

  it('finds the one item that made the whole batch invalid (422) and sends the others', async () => {
    const server = fakeVisitsServer()
    server.rejectBatchWith422 = 'x'.repeat(5)
    const q = signedInQueue()
    offline(true)
    q.record({ ...HOUSEHOLD, at_home: true, notes: 'x'.repeat(5) })
    q.record({ household_id: 42, household_label: '2号楼 2单元302', at_home: true, notes: '好' })
    await q.sync()
    offline(false)
    await q.sync()
    const bad = q.items.find((v) => v.notes === 'xxxxx')!
    const good = q.items.find((v) => v.household_id === 42)!
    expect(bad.state).toBe('rejected')
    expect(bad.message).toContain('不符合要求')
    expect(good.state).toBe('created')
  })

  it('shows a conflict and lets the person keep the server version or send theirs as an edit', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    const v = q.record({ ...HOUSEHOLD, at_home: true, notes: '第一次' })
    await q.sync()
    // the same client id comes back with other content (edited on another device, or a corrupted copy)
    q.items[0].notes = '改过的内容'
    q.items[0].state = 'pending'
    await q.sync()
    expect(q.items[0].state).toBe('conflict')
    expect(q.items[0].conflict).toMatchObject({ reason: 'different_content', server_version: 1 })
    expect(q.conflictCount).toBe(1)

    await q.resolveConflict(v.client_id, 'overwrite')
    expect(server.batches.at(-1)![0]).toMatchObject({ client_id: v.client_id, base_version: 1, notes: '改过的内容' })
    expect(q.items[0].state).toBe('updated')
    expect(server.stored.get(v.client_id)!.version).toBe(2)
  })

  it('keeping the server version closes the conflict without sending anything', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    const v = q.record({ ...HOUSEHOLD, at_home: true, notes: 'A' })
    await q.sync()
    q.items[0].notes = 'B'
    q.items[0].state = 'pending'
    await q.sync()
    const sent = server.batches.length
    await q.resolveConflict(v.client_id, 'keep_server')
    expect(q.items[0].state).toBe('duplicate')
    expect(server.batches.length).toBe(sent)
  })

  it('retrying a refused item resends the same client id', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    const v = q.record({ household_id: 404, household_label: '?', at_home: true })
    await q.sync()
    expect(q.items[0].state).toBe('rejected')
    await q.retry(v.client_id)
    expect(server.batches.map((b) => b[0].client_id)).toEqual([v.client_id, v.client_id])
  })
})

describe('photos', () => {
  it('uploads photos first, sends their ids, and never uploads a photo twice across retries', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    q.record({ ...HOUSEHOLD, at_home: true, photoPaths: ['blob:a', 'blob:b'] })
    // photos go up, then the sync call loses its answers (all three tries of the http layer)
    server.loseAnswers = 3
    await q.sync()
    expect(server.uploads()).toBe(2)
    expect(q.items[0].photos.map((p) => p.media_id)).toEqual([501, 502])
    await q.sync()
    expect(server.uploads()).toBe(2)
    expect(server.batches.at(-1)![0].photo_ids).toEqual([501, 502])
    expect(q.items[0].state).toBe('duplicate')
  })

  it('does not send the visit while its photos cannot go up for lack of signal', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    offline(true)
    q.record({ ...HOUSEHOLD, at_home: true, photoPaths: ['blob:a'] })
    await q.sync()
    expect(server.batches).toHaveLength(0)
    expect(q.items[0].state).toBe('pending')
  })

  it('sends the visit without a photo whose file is gone, and says so', async () => {
    const server = fakeVisitsServer()
    const q = signedInQueue()
    q.record({ ...HOUSEHOLD, at_home: true, photoPaths: ['wxfile://gone.jpg', 'blob:ok'] })
    await q.sync()
    expect(q.items[0].state).toBe('created')
    expect(server.batches[0][0].photo_ids).toEqual([502])
    expect(q.items[0].message).toContain('有一张照片未能上传')
  })
})
