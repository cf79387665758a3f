/**
 * An in-memory stand-in for the Jinlin backend's auth contract, used behind the stubbed `uni.request`.
 * It behaves like the real one where the client's correctness depends on it: refresh tokens are single
 * use and reusing one revokes the whole family; access tokens die on refresh; errors have the one
 * JSON shape. Tests add routes and inject failures (no answer, 503) per call.
 */

import type { Me, RoleAssignment } from '@/api/types'

export interface FakeRequest {
  url: string
  path: string
  method: string
  header: Record<string, string>
  data: unknown
}

export interface FakeResponse {
  statusCode: number
  data?: unknown
}

/** Return `'network'` to simulate no answer (uni.request rejects, like a timeout or offline). */
export type Fault = 'network' | FakeResponse | undefined
type Route = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>

export function errorBody(error: string, message: string, detail: unknown = null) {
  return { error, message, detail }
}

export class FakeBackend {
  readonly requests: FakeRequest[] = []
  readonly routes = new Map<string, Route>()
  /** Called before routing each request; return a fault to break that one call. */
  fault: (req: FakeRequest, n: number) => Fault = () => undefined
  /** Resolve this to let pending refresh answers through (to hold a refresh open under concurrency). */
  refreshGate: Promise<void> = Promise.resolve()

  private seq = 0
  private liveAccess = new Map<string, number>() // access token -> user id
  private refreshOwner = new Map<string, { userId: number; family: number; used: boolean }>()
  private revokedFamilies = new Set<number>()

  users = new Map<number, { name: string; phone: string; password: string; roles: RoleAssignment[] }>([
    [
      12,
      {
        name: '张网格',
        phone: '13800000000',
        password: 'secret-pass',
        roles: [
          {
            id: 1,
            role: 'grid_worker',
            role_label: '网格员',
            org_unit_id: 7,
            org_unit_name: '第1网格',
            org_unit_path: '土门墩街道 / 土门墩社区 / 第1网格',
            department_id: null,
            department_name: null,
          },
        ],
      },
    ],
  ])

  constructor() {
    this.routes.set('POST /api/v1/auth/refresh', (req) => this.refresh(req))
    this.routes.set('POST /api/v1/auth/dev-login', (req) => this.issue((req.data as { user_id: number }).user_id))
    this.routes.set('POST /api/v1/auth/login', (req) => {
      const { phone, password } = req.data as { phone: string; password: string }
      const hit = [...this.users.entries()].find(([, u]) => u.phone === phone && u.password === password)
      return hit ? this.issue(hit[0]) : { statusCode: 401, data: errorBody('InvalidCredentials', '手机号或密码不正确') }
    })
    this.routes.set('POST /api/v1/auth/wechat', (req) => {
      const { code } = req.data as { code: string }
      if (code !== 'wx-code-ok') return { statusCode: 400, data: errorBody('WechatLoginFailed', '微信登录失败') }
      const res = this.issue(12)
      return { statusCode: 200, data: { ...(res.data as object), is_new_user: false } }
    })
    this.routes.set('POST /api/v1/auth/logout', (req) => {
      const owner = this.refreshOwner.get((req.data as { refresh_token: string }).refresh_token)
      if (!owner) return { statusCode: 401, data: errorBody('InvalidToken', '登录已失效') }
      this.revokedFamilies.add(owner.family)
      return { statusCode: 204 }
    })
    this.routes.set('GET /api/v1/me', (req) => {
      const userId = this.authenticate(req)
      if (userId === null) return { statusCode: 401, data: errorBody('InvalidToken', '登录已过期') }
      const u = this.users.get(userId)!
      const me: Me = {
        id: userId,
        name: u.name,
        phone_masked: `${u.phone.slice(0, 3)}****${u.phone.slice(7)}`,
        roles: u.roles,
        household: null,
        has_wechat: false,
        has_password: true,
      }
      return { statusCode: 200, data: me }
    })
  }

  get refreshCalls(): number {
    return this.requests.filter((r) => r.path === '/api/v1/auth/refresh').length
  }

  /** Hand out a pair as if the user had logged in (a new family). */
  issue(userId: number, family = ++this.seq): FakeResponse {
    const n = ++this.seq
    const access = `access-${userId}-${n}`
    const refresh = `refresh-${userId}-${n}`
    this.liveAccess.set(access, userId)
    this.refreshOwner.set(refresh, { userId, family, used: false })
    return { statusCode: 200, data: { access_token: access, refresh_token: refresh, token_type: 'bearer', expires_in: 900 } }
  }

  /** Make every access token issued so far expire (what 15 minutes do). */
  expireAccessTokens(): void {
    this.liveAccess.clear()
  }

  authenticate(req: FakeRequest): number | null {
    const m = /^Bearer (.+)$/.exec(req.header.Authorization ?? '')
    return m ? (this.liveAccess.get(m[1]) ?? null) : null
  }

  private async refresh(req: FakeRequest): Promise<FakeResponse> {
    await this.refreshGate
    const token = (req.data as { refresh_token: string }).refresh_token
    const owner = this.refreshOwner.get(token)
    if (!owner || this.revokedFamilies.has(owner.family)) {
      return { statusCode: 401, data: errorBody('InvalidToken', '登录已过期，请重新登录') }
    }
    if (owner.used) {
      this.revokedFamilies.add(owner.family) // reuse detection: kill the family
      return { statusCode: 401, data: errorBody('RefreshTokenReused', '登录凭证已被使用，请重新登录') }
    }
    owner.used = true
    for (const [access, uid] of this.liveAccess) if (uid === owner.userId) this.liveAccess.delete(access)
    return this.issue(owner.userId, owner.family)
  }

  /** The `uni.request` the stub installs: Promise form, rejects when there is no answer. */
  handle = async (opts: { url: string; method?: string; header?: Record<string, string>; data?: unknown }) => {
    const u = new URL(opts.url, 'http://jinlin.test')
    const req: FakeRequest = {
      url: opts.url,
      path: u.pathname,
      method: opts.method ?? 'GET',
      header: { ...(opts.header ?? {}) },
      data: opts.data,
    }
    this.requests.push(req)
    await Promise.resolve() // answers arrive asynchronously, like a real socket
    const fault = this.fault(req, this.requests.length)
    if (fault === 'network') throw { errMsg: 'request:fail timeout' }
    if (fault) return { statusCode: fault.statusCode, data: fault.data ?? '', header: {} }
    const route = this.routes.get(`${req.method} ${req.path}`)
    const res = route ? await route(req) : { statusCode: 404, data: errorBody('NotFound', '接口不存在') }
    return { statusCode: res.statusCode, data: res.data ?? '', header: {} }
  }
}
