import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { InboxItem } from '@/api/types'
import { FakeSocket } from '@/test/uni-stub'
import { RealtimeClient, tokenExpiresAt, type RealtimeOptions, type RealtimeStatus } from '../client'

function item(id: number, kind = 'report.created'): InboxItem {
  return {
    id,
    kind,
    kind_label: '新的居民上报',
    title: `上报 ${id}`,
    body: '',
    link: `pages/reports/detail?id=${id}`,
    urgency: 'normal',
    silent: false,
    data: { report_id: id },
    created_at: '2026-11-22T10:00:00+08:00',
    read_at: null,
  }
}

/** A client on fake timers whose sockets the test controls; `random` fixed so backoff delays are exact. */
function harness(overrides: Partial<RealtimeOptions> = {}) {
  const sockets: FakeSocket[] = []
  const delivered: number[] = []
  const statuses: RealtimeStatus[] = []
  let token: string | null = 'tok-1'
  let cursor: number | null = null
  const renew = vi.fn(async () => {
    token = 'tok-2'
    return true
  })
  const overflow = vi.fn()
  const rt = new RealtimeClient({
    url: () => 'ws://jinlin.test/api/v1/ws',
    connect: (url, protocols) => {
      const s = new FakeSocket(url, protocols)
      sockets.push(s)
      return s
    },
    token: () => token,
    renewToken: renew,
    cursor: () => cursor,
    onItem: (i) => delivered.push(i.id),
    onOverflow: overflow,
    onStatus: (s) => statuses.push(s),
    random: () => 1, // no jitter: waits are exactly base·2ⁿ
    ...overrides,
  })
  return {
    rt,
    sockets,
    delivered,
    statuses,
    renew,
    overflow,
    last: () => sockets[sockets.length - 1],
    setToken: (t: string | null) => (token = t),
    setCursor: (c: number | null) => (cursor = c),
  }
}

/** Open the latest socket and play the server's greeting; returns the resume frame the client sent. */
function greet(s: FakeSocket, pingSeconds = 25) {
  s.serverOpen()
  s.serverSend({ type: 'hello', user_id: 20, ping_seconds: pingSeconds })
  return s.sentOfType('resume').at(-1) as { type: string; after: number | null }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('connecting and resuming', () => {
  it('sends the token as a subprotocol, never in the URL', () => {
    const h = harness()
    h.rt.start()
    expect(h.sockets).toHaveLength(1)
    expect(h.last().protocols).toEqual(['jinlin.v1', 'bearer.tok-1'])
    expect(h.last().url).toBe('ws://jinlin.test/api/v1/ws')
    expect(h.last().url).not.toContain('tok-1')
    expect(h.rt.status).toBe('connecting')
  })

  it("resumes after the newest inbox id the app loaded, and goes live after 'resumed'", () => {
    const h = harness()
    h.setCursor(41)
    h.rt.start()
    expect(greet(h.last())).toEqual({ type: 'resume', after: 41 })
    h.last().serverSend({ type: 'item', item: item(42), prev: 41 })
    h.last().serverSend({ type: 'resumed', last: 42 })
    h.last().serverSend({ type: 'item', item: item(43), prev: 42 })
    expect(h.delivered).toEqual([42, 43])
    expect(h.rt.status).toBe('live')
    expect(h.statuses).toEqual(['connecting', 'live'])
  })

  it('asks for "from now" (null) when the app has nothing yet', () => {
    const h = harness()
    h.rt.start()
    expect(greet(h.last())).toEqual({ type: 'resume', after: null })
  })

  it('stops instead of connecting when nobody is signed in', () => {
    const h = harness()
    h.setToken(null)
    h.rt.start()
    expect(h.sockets).toHaveLength(0)
    expect(h.rt.status).toBe('stopped')
  })
})

describe('dedupe', () => {
  it('never hands over an item twice: not one loaded over HTTP, not one repeated by the socket', () => {
    const h = harness()
    h.rt.markSeen([10, 11])
    h.rt.start()
    expect(greet(h.last()).after).toBe(11)
    const s = h.last()
    s.serverSend({ type: 'item', item: item(11), prev: 10 }) // overlaps the HTTP page
    s.serverSend({ type: 'item', item: item(12), prev: 11 })
    s.serverSend({ type: 'item', item: item(12), prev: 11 }) // the server repeated a frame
    s.serverSend({ type: 'item', item: item(13), prev: 12 })
    expect(h.delivered).toEqual([12, 13])
  })

  it('ignores garbage frames and items without an id', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().onMessage(() => undefined)
    ;(h.last() as unknown as { handlers: { message: ((r: { data: string }) => void)[] } }).handlers.message.forEach(
      (fn) => fn({ data: 'not json' }),
    )
    h.last().serverSend({ type: 'item', item: { kind: 'x' } })
    expect(h.delivered).toEqual([])
  })
})

describe('reconnecting', () => {
  it('reconnects with exponential backoff and resumes from the last item the socket delivered', () => {
    const h = harness()
    h.setCursor(5)
    h.rt.start()
    greet(h.last())
    h.last().serverSend({ type: 'item', item: item(6), prev: 5 })
    h.last().serverSend({ type: 'resumed', last: 6 })
    h.last().serverSend({ type: 'item', item: item(7), prev: 6 })

    h.last().serverClose(1006) // the network dropped
    expect(h.rt.status).toBe('waiting')
    vi.advanceTimersByTime(999)
    expect(h.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(2)

    // the second try fails too: the wait doubles
    h.last().serverClose(1006)
    vi.advanceTimersByTime(1999)
    expect(h.sockets).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(3)

    // the app's HTTP cursor (5) is older than what the socket delivered (7): resume after 7
    expect(greet(h.last()).after).toBe(7)
    h.last().serverSend({ type: 'item', item: item(8), prev: 7 })
    h.last().serverSend({ type: 'resumed', last: 8 })
    expect(h.delivered).toEqual([6, 7, 8])
    expect(h.rt.attempts).toBe(0) // a live socket resets the backoff
  })

  it('caps the backoff and jitters it between half and all of the wait', () => {
    const low = harness({ random: () => 0, backoff: { baseMs: 1000, maxMs: 30_000 } })
    const high = harness({ random: () => 0.999, backoff: { baseMs: 1000, maxMs: 30_000 } })
    expect(low.rt.delayFor(0)).toBe(500)
    expect(high.rt.delayFor(0)).toBe(1000)
    expect(low.rt.delayFor(3)).toBe(4000)
    expect(low.rt.delayFor(10)).toBe(15_000)
    expect(high.rt.delayFor(10)).toBe(29_985)
  })

  it('reconnects at once when the network comes back instead of waiting out the backoff', () => {
    const h = harness({ backoff: { baseMs: 60_000, maxMs: 60_000 } })
    h.rt.start()
    greet(h.last())
    h.last().serverClose(1006)
    expect(h.sockets).toHaveLength(1)
    h.rt.networkChanged(false)
    expect(h.sockets).toHaveLength(1)
    h.rt.networkChanged(true)
    expect(h.sockets).toHaveLength(2)
    vi.advanceTimersByTime(60_000) // the cancelled timer does not open a third
    expect(h.sockets).toHaveLength(2)
  })

  it('treats two silent heartbeats as a dead socket and reconnects', () => {
    const h = harness()
    h.rt.start()
    greet(h.last(), 10)
    h.last().serverSend({ type: 'resumed', last: null })
    vi.advanceTimersByTime(24_000) // < 2 × 10 s + 5 s
    expect(h.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1_000)
    expect(h.sockets[0].closed).not.toBeNull()
    vi.advanceTimersByTime(1_000)
    expect(h.sockets).toHaveLength(2)
  })

  it('answers the server ping with a pong (which also keeps the watchdog quiet)', () => {
    const h = harness()
    h.rt.start()
    greet(h.last(), 10)
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(10_000)
      h.last().serverSend({ type: 'ping' })
    }
    expect(h.last().sentOfType('pong')).toHaveLength(5)
    expect(h.sockets).toHaveLength(1)
  })

  it('treats an error without a close event like a close', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverError()
    expect(h.rt.status).toBe('waiting')
    vi.advanceTimersByTime(1000)
    expect(h.sockets).toHaveLength(2)
  })
})

describe('authentication', () => {
  it('on 4401 renews the token first and reconnects with the new one', async () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverClose(4401, '登录已失效')
    expect(h.renew).toHaveBeenCalledTimes(1)
    await vi.runAllTimersAsync()
    expect(h.sockets).toHaveLength(2)
    expect(h.last().protocols).toEqual(['jinlin.v1', 'bearer.tok-2'])
  })

  it('stops for good when the session cannot be renewed', async () => {
    const h = harness({ renewToken: async () => false })
    h.rt.start()
    greet(h.last())
    h.last().serverClose(4401)
    await vi.runAllTimersAsync()
    expect(h.sockets).toHaveLength(1)
    expect(h.rt.status).toBe('stopped')
  })

  it('sends the rotated token on the open socket so it is not closed when the old one expires', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverSend({ type: 'resumed', last: null })
    h.rt.tokenChanged('tok-9')
    expect(h.last().sentOfType('auth')).toEqual([{ type: 'auth', token: 'tok-9' }])
  })

  it('renews a JWT a minute before it expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 15 * 60
    const payload = btoa(JSON.stringify({ exp, sub: '20' })).replace(/=+$/, '')
    const jwt = `eyJhbGciOiJIUzI1NiJ9.${payload}.sig`
    expect(tokenExpiresAt(jwt)).toBe(exp)
    expect(tokenExpiresAt('access-12-3')).toBeNull()
    const h = harness()
    h.setToken(jwt)
    h.rt.start()
    greet(h.last())
    await vi.advanceTimersByTimeAsync(13 * 60_000)
    expect(h.renew).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(60_000 + 1000)
    expect(h.renew).toHaveBeenCalledTimes(1)
  })

  it('a logout (token gone) closes the socket and does not reconnect', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.rt.tokenChanged(null)
    expect(h.sockets[0].closed).not.toBeNull()
    vi.advanceTimersByTime(120_000)
    expect(h.sockets).toHaveLength(1)
    expect(h.rt.status).toBe('stopped')
  })
})

describe('being replaced, paused, or too far behind', () => {
  it('does not fight a newer socket (4409) until started again', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverClose(4409, '已在别处打开')
    vi.advanceTimersByTime(120_000)
    expect(h.sockets).toHaveLength(1)
    expect(h.rt.status).toBe('replaced')
    h.rt.start() // the app was shown again
    expect(h.sockets).toHaveLength(2)
  })

  it('pauses in the background without reconnecting, and resumes where it stopped when shown', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverSend({ type: 'item', item: item(3), prev: 2 })
    h.rt.pause()
    expect(h.sockets[0].closed).toMatchObject({ code: 1000 })
    vi.advanceTimersByTime(120_000)
    expect(h.sockets).toHaveLength(1)
    h.rt.start()
    expect(greet(h.last()).after).toBe(3)
  })

  it('asks the app to reload the list on overflow and continues after the latest id', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverSend({ type: 'overflow', latest: 5000, message: '未读通知太多' })
    expect(h.overflow).toHaveBeenCalledWith(5000)
    h.last().serverSend({ type: 'item', item: item(4999), prev: 4998 })
    expect(h.delivered).toEqual([])
    h.last().serverClose(1006)
    vi.advanceTimersByTime(1000)
    expect(greet(h.last()).after).toBe(5000)
  })

  it('forgets the position on stop (the next user starts from their own inbox)', () => {
    const h = harness()
    h.rt.start()
    greet(h.last())
    h.last().serverSend({ type: 'item', item: item(8), prev: 7 })
    h.rt.stop()
    expect(h.rt.lastId).toBeNull()
    h.rt.start()
    expect(greet(h.last()).after).toBeNull()
  })
})
