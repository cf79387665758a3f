import { describe, expect, it, vi } from 'vitest'
import { createHttp } from '../client'
import { ApiError, NetworkError } from '../errors'
import { loadTokens, saveTokens } from '../tokens'
import { resolveBaseUrl, resolveSocketUrl } from '../base-url'
import { errorBody } from '@/test/fake-backend'
import { uniStub } from '@/test/uni-stub'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A client with instant retries so tests do not sleep; everything else is the production code path. */
function client(extra: Parameters<typeof createHttp>[0] = {}) {
  return createHttp({ retryDelaysMs: [0, 0], ...extra })
}

/** The error a call failed with; the test fails if the call succeeded. */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    return e as ApiError
  }
  throw new Error('expected the request to fail')
}

/** Log user 12 in on the fake backend and store the pair, as the login page would. */
function signIn() {
  const pair = uniStub().backend.issue(12).data as { access_token: string; refresh_token: string }
  saveTokens(pair)
  return pair
}

describe('authorization and 401 refresh', () => {
  it('sends the stored access token as a Bearer header', async () => {
    const { access_token } = signIn()
    const me = await client().get<{ name: string }>('/api/v1/me')
    expect(me.name).toBe('张网格')
    expect(uniStub().backend.requests[0].header.Authorization).toBe(`Bearer ${access_token}`)
  })

  it('shares ONE refresh between concurrent 401s and retries each request with the new token', async () => {
    const { backend } = uniStub()
    const old = signIn()
    backend.expireAccessTokens()
    let openGate!: () => void
    backend.refreshGate = new Promise((r) => (openGate = r))

    const http = client()
    const pending = Array.from({ length: 5 }, () => http.get<{ id: number }>('/api/v1/me'))
    // let all five reach the server, get 401 and queue behind the single refresh
    await vi.waitFor(() => expect(backend.requests.filter((r) => r.path === '/api/v1/me')).toHaveLength(5))
    await vi.waitFor(() => expect(backend.refreshCalls).toBe(1))
    openGate()

    const results = await Promise.all(pending)
    expect(results.map((r) => r.id)).toEqual([12, 12, 12, 12, 12])
    // a second refresh would have reused the spent token and revoked the family
    expect(backend.refreshCalls).toBe(1)
    const now = loadTokens()!
    expect(now.refresh_token).not.toBe(old.refresh_token)
    const retried = backend.requests.filter((r) => r.path === '/api/v1/me').slice(5)
    expect(retried).toHaveLength(5)
    for (const r of retried) expect(r.header.Authorization).toBe(`Bearer ${now.access_token}`)
    expect(uniStub().toasts).toEqual([])
  })

  it('does not refresh again for a 401 that arrives after the refresh already finished', async () => {
    const { backend } = uniStub()
    signIn()
    backend.expireAccessTokens()
    const realRefresh = backend.routes.get('POST /api/v1/auth/refresh')!
    const realMe = backend.routes.get('GET /api/v1/me')!
    let refreshAnswered!: () => void
    const answered = new Promise<void>((r) => (refreshAnswered = r))
    backend.routes.set('POST /api/v1/auth/refresh', async (req) => {
      const res = await realRefresh(req)
      refreshAnswered()
      return res
    })
    // the "slow" request was sent with the old token, but its 401 only arrives once the refresh is done
    backend.routes.set('GET /api/v1/me', async (req) => {
      if (req.url.includes('slow=1') && backend.authenticate(req) === null) {
        await answered
        await new Promise((r) => setTimeout(r, 10))
      }
      return realMe(req)
    })
    const http = client()
    const [fast, slow] = await Promise.all([
      http.get<{ id: number }>('/api/v1/me'),
      http.get<{ id: number }>('/api/v1/me', { slow: 1 }),
    ])
    expect([fast.id, slow.id]).toEqual([12, 12])
    expect(backend.refreshCalls).toBe(1)
  })

  it('ends the session once when the refresh is refused, and surfaces 401 to every caller', async () => {
    const { backend } = uniStub()
    signIn()
    backend.expireAccessTokens()
    backend.routes.set('POST /api/v1/auth/refresh', () => ({
      statusCode: 401,
      data: errorBody('RefreshTokenReused', '登录凭证已被使用，请重新登录'),
    }))
    const onAuthExpired = vi.fn()
    const http = client({ onAuthExpired })

    const errors = await Promise.all([1, 2, 3].map(() => failure(http.get('/api/v1/me'))))
    for (const err of errors) {
      expect(err).toBeInstanceOf(ApiError)
      expect(err.status).toBe(401)
    }
    expect(backend.refreshCalls).toBe(1)
    expect(onAuthExpired).toHaveBeenCalledTimes(1)
    expect(loadTokens()).toBeNull()
  })

  it('retries a request only once after a refresh (no loop when the new token is refused too)', async () => {
    const { backend } = uniStub()
    signIn()
    backend.routes.set('GET /api/v1/me', () => ({ statusCode: 401, data: errorBody('InvalidToken', '登录已过期') }))
    const onAuthExpired = vi.fn()
    await expect(client({ onAuthExpired }).get('/api/v1/me')).rejects.toMatchObject({ status: 401 })
    expect(backend.requests.map((r) => r.path)).toEqual(['/api/v1/me', '/api/v1/auth/refresh', '/api/v1/me'])
    expect(onAuthExpired).toHaveBeenCalledTimes(1)
  })

  it('does not try to refresh for endpoints called without auth (wrong password is just an error)', async () => {
    signIn()
    const err = await failure(
      client().post('/api/v1/auth/login', { phone: '13800000000', password: 'wrong' }, { auth: false }),
    )
    expect(err).toBeInstanceOf(ApiError)
    expect(err.message).toBe('手机号或密码不正确')
    expect(uniStub().backend.refreshCalls).toBe(0)
    expect(uniStub().backend.requests[0].header.Authorization).toBeUndefined()
  })
})

describe('idempotency keys and retries', () => {
  it('gives each POST a uuid v4 Idempotency-Key and reuses it when retrying after no answer', async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/things', () => ({ statusCode: 201, data: { ok: true } }))
    backend.fault = (_req, n) => (n <= 2 ? 'network' : undefined)

    const res = await client().post<{ ok: boolean }>('/api/v1/things', { a: 1 })
    expect(res.ok).toBe(true)
    const keys = backend.requests.map((r) => r.header['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(keys[0]).toMatch(UUID_V4)
    expect(new Set(keys).size).toBe(1)
  })

  it('uses a different key for a different POST', async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/things', () => ({ statusCode: 201, data: {} }))
    const http = client()
    await http.post('/api/v1/things', { a: 1 })
    await http.post('/api/v1/things', { a: 1 })
    const [k1, k2] = backend.requests.map((r) => r.header['Idempotency-Key'])
    expect(k1).not.toBe(k2)
  })

  it('keeps the same key across the 401 refresh and the retry', async () => {
    const { backend } = uniStub()
    signIn()
    backend.expireAccessTokens()
    backend.routes.set('POST /api/v1/things', (req) =>
      backend.authenticate(req) === null
        ? { statusCode: 401, data: errorBody('InvalidToken', '过期') }
        : { statusCode: 201, data: {} },
    )
    await client().post('/api/v1/things', {})
    const keys = backend.requests.filter((r) => r.path === '/api/v1/things').map((r) => r.header['Idempotency-Key'])
    expect(keys).toHaveLength(2)
    expect(keys[0]).toBe(keys[1])
  })

  it('retries 502/503/504 with backoff, then succeeds', async () => {
    const { backend } = uniStub()
    backend.routes.set('GET /api/v1/ping', () => ({ statusCode: 200, data: { pong: true } }))
    backend.fault = (_req, n) => (n === 1 ? { statusCode: 503 } : n === 2 ? { statusCode: 504 } : undefined)
    await expect(client().get('/api/v1/ping')).resolves.toEqual({ pong: true })
    expect(backend.requests).toHaveLength(3)
  })

  it('gives up after 2 retries with a NetworkError and a toast', async () => {
    const { backend } = uniStub()
    backend.fault = () => 'network'
    const err = await failure(client().post('/api/v1/things', {}))
    expect(err).toBeInstanceOf(NetworkError)
    expect(backend.requests).toHaveLength(3)
    expect(uniStub().toasts).toEqual(['网络不给力，请检查网络后再试'])
  })

  it('waits between retries (backoff), using the configured delays', async () => {
    vi.useFakeTimers()
    try {
      const { backend } = uniStub()
      backend.fault = () => 'network'
      const p = failure(createHttp({ retryDelaysMs: [1000, 3000] }).get('/api/v1/ping'))
      await vi.advanceTimersByTimeAsync(700) // below the jittered minimum of 800 ms
      expect(backend.requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(600)
      expect(backend.requests).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(4000)
      expect(backend.requests).toHaveLength(3)
      expect(await p).toBeInstanceOf(NetworkError)
    } finally {
      vi.useRealTimers()
    }
  })

  it.each([400, 403, 404, 409, 422, 500])('never retries a %i', async (status) => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/tasks/5/claim', () => ({
      statusCode: status,
      data: errorBody('TaskAlreadyClaimed', '这个任务已经被别的志愿者领走了', { task_id: 5 }),
    }))
    const err = await failure(client().post('/api/v1/tasks/5/claim'))
    expect(backend.requests).toHaveLength(1)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status, code: 'TaskAlreadyClaimed', detail: { task_id: 5 } })
  })

  it('asks again when the server says the same key is still in flight, and gets the first answer', async () => {
    const { backend } = uniStub()
    let attempts = 0
    backend.routes.set('POST /api/v1/reports', () =>
      ++attempts < 3
        ? { statusCode: 409, data: errorBody('RequestInFlight', '上一次提交还在处理中') }
        : { statusCode: 201, data: { id: 99 } },
    )
    await expect(client().post('/api/v1/reports', { text: '路灯坏了' })).resolves.toEqual({ id: 99 })
    const keys = backend.requests.map((r) => r.header['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
  })

  it('does not retry other 409s (a real conflict)', async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/reports', () => ({ statusCode: 409, data: errorBody('Conflict', '已经处理过了') }))
    await expect(client().post('/api/v1/reports', {})).rejects.toMatchObject({ code: 'Conflict' })
    expect(backend.requests).toHaveLength(1)
  })

  it('resends an idempotent DELETE after no answer', async () => {
    const { backend } = uniStub()
    backend.fault = () => 'network'
    await expect(client().del('/api/v1/things/1', { toast: false })).rejects.toBeInstanceOf(NetworkError)
    expect(backend.requests).toHaveLength(3)
    expect(backend.requests[0].header['Idempotency-Key']).toBeUndefined()
  })
})

describe('error messages', () => {
  it("toasts the server's Chinese message and carries it on the error", async () => {
    const { backend } = uniStub()
    backend.routes.set('POST /api/v1/orders', () => ({
      statusCode: 409,
      data: errorBody('InsufficientBalance', '爱心积分不足，还差 20 分'),
    }))
    const err = await failure(client().post('/api/v1/orders', {}))
    expect(err.message).toBe('爱心积分不足，还差 20 分')
    expect(err.shown).toBe(true)
    expect(uniStub().toasts).toEqual(['爱心积分不足，还差 20 分'])
  })

  it('stays quiet when the caller asks for toast: false', async () => {
    await failure(client().get('/api/v1/nowhere', undefined, { toast: false }))
    expect(uniStub().toasts).toEqual([])
  })

  it('falls back to a Chinese message when the body is not our error shape (proxy error page)', async () => {
    const { backend } = uniStub()
    backend.fault = () => ({ statusCode: 500, data: '<html>Internal Server Error</html>' })
    const err = await failure(client().get('/api/v1/me'))
    expect(err).toMatchObject({ status: 500, code: 'HttpError', message: '服务器开小差了，请稍后再试' })
  })

  it('returns undefined for 204', async () => {
    const { backend } = uniStub()
    const { refresh_token } = signIn()
    await expect(client().post('/api/v1/auth/logout', { refresh_token }, { auth: false })).resolves.toBeUndefined()
    expect(backend.requests[0].header['Content-Type']).toBe('application/json')
  })
})

describe('base URL', () => {
  it('prefixes the configured base and query string', async () => {
    const { backend } = uniStub()
    await failure(
      client({ baseUrl: 'https://api.example.org' }).get('/api/v1/x', { q: '网格 1', page: 2, skip: undefined }),
    )
    expect(backend.requests[0].url).toBe('https://api.example.org/api/v1/x?q=%E7%BD%91%E6%A0%BC%201&page=2')
  })

  it('is same-origin on H5 and VITE_API_BASE on mp-weixin', () => {
    expect(resolveBaseUrl('h5', 'https://ignored.example', false)).toBe('')
    expect(resolveBaseUrl('mp-weixin', 'https://api.example.org/', false)).toBe('https://api.example.org')
    expect(resolveBaseUrl('mp-weixin', undefined, true)).toBe('http://127.0.0.1:8000')
  })
})

describe('uploads (uni.uploadFile)', () => {
  it('sends the file with the bearer token and a key, and parses the JSON answer', async () => {
    const { backend } = uniStub()
    const { access_token } = signIn()
    backend.routes.set('POST /api/v1/media', (req) =>
      backend.authenticate(req) === null
        ? { statusCode: 401, data: errorBody('InvalidToken', '登录已过期') }
        : { statusCode: 201, data: { id: 9, url: '/api/v1/media/9/content?exp=1&sig=x', data: req.data } },
    )
    const out = await client().upload<{ id: number; data: { filePath: string; field: string } }>({
      url: '/api/v1/media',
      filePath: 'blob:photo-1',
    })
    expect(out.id).toBe(9)
    expect(out.data).toMatchObject({ filePath: 'blob:photo-1', field: 'file' })
    const req = backend.requests[0]
    expect(req.header.Authorization).toBe(`Bearer ${access_token}`)
    expect(req.header['Idempotency-Key']).toMatch(UUID_V4)
  })

  it('refreshes once on 401 and resends the file with the same key', async () => {
    const { backend } = uniStub()
    signIn()
    backend.expireAccessTokens()
    backend.routes.set('POST /api/v1/media', (req) =>
      backend.authenticate(req) === null
        ? { statusCode: 401, data: errorBody('InvalidToken', '登录已过期') }
        : { statusCode: 201, data: { id: 10 } },
    )
    const out = await client().upload<{ id: number }>({ url: '/api/v1/media', filePath: 'blob:p' })
    expect(out.id).toBe(10)
    const uploads = backend.requests.filter((r) => r.path === '/api/v1/media')
    expect(uploads).toHaveLength(2)
    expect(uploads[0].header['Idempotency-Key']).toBe(uploads[1].header['Idempotency-Key'])
    expect(backend.refreshCalls).toBe(1)
  })

  it("shows the server's message when the photo is refused", async () => {
    const { backend, toasts } = uniStub()
    signIn()
    backend.routes.set('POST /api/v1/media', () => ({ statusCode: 413, data: errorBody('PhotoTooLarge', '照片不能超过 10 MB') }))
    const err = await failure(client().upload({ url: '/api/v1/media', filePath: 'blob:big' }))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('PhotoTooLarge')
    expect(toasts).toEqual(['照片不能超过 10 MB'])
  })
})

describe('PATCH through the method override', () => {
  it('POSTs with X-HTTP-Method-Override: PATCH (wx.request has no PATCH)', async () => {
    const { backend } = uniStub()
    signIn()
    backend.routes.set('POST /api/v1/volunteers/me', (req) => ({ statusCode: 200, data: { header: req.header, body: req.data } }))
    const out = await client().patch<{ header: Record<string, string>; body: unknown }>('/api/v1/volunteers/me', { skills: ['meals'] })
    expect(out.header['X-HTTP-Method-Override']).toBe('PATCH')
    expect(out.body).toEqual({ skills: ['meals'] })
    expect(backend.requests[0].method).toBe('POST')
  })
})

describe('absolute URLs and the socket URL', () => {
  it('prefixes signed media paths with the API origin (mp-weixin) and leaves them relative on H5', () => {
    expect(client({ baseUrl: 'https://api.x' }).absoluteUrl('/api/v1/media/1/content?sig=a')).toBe(
      'https://api.x/api/v1/media/1/content?sig=a',
    )
    expect(client().absoluteUrl('/api/v1/media/1/content')).toBe('/api/v1/media/1/content')
    expect(client({ baseUrl: 'https://api.x' }).absoluteUrl('https://cdn.y/a.jpg')).toBe('https://cdn.y/a.jpg')
  })

  it('turns http(s) into ws(s), and uses the page location on H5', () => {
    expect(resolveSocketUrl('https://api.x', '/api/v1/ws')).toBe('wss://api.x/api/v1/ws')
    expect(resolveSocketUrl('http://127.0.0.1:8000', '/api/v1/ws')).toBe('ws://127.0.0.1:8000/api/v1/ws')
    expect(resolveSocketUrl('', '/api/v1/ws', { protocol: 'https:', host: 'jl.org' })).toBe('wss://jl.org/api/v1/ws')
    expect(resolveSocketUrl('', '/api/v1/ws', { protocol: 'http:', host: '127.0.0.1:5' })).toBe('ws://127.0.0.1:5/api/v1/ws')
  })
})
