/**
 * The one place in the app that talks to the network. Pages and stores call `src/api/*`, which call
 * this; nothing else uses `uni.request`.
 *
 * What it does for every request:
 * - prefixes the base URL (same origin on H5, VITE_API_BASE on mp-weixin) and adds `Authorization: Bearer`;
 * - POSTs carry an `Idempotency-Key` (uuid v4) that stays the SAME across retries of that one call,
 *   so the server can tell a retry from a second submission;
 * - retries up to `retryDelaysMs.length` times, with backoff, when there was no answer (offline, timeout)
 *   or the answer was 502/503/504; never on other 4xx/5xx, except the server's 409 `RequestInFlight`
 *   for the same Idempotency-Key (see isInFlight);
 * - on 401 refreshes the token pair once and retries once. Refresh tokens are single use (rotation with
 *   reuse detection on the server), so concurrent 401s share ONE refresh call;
 * - turns error answers into `ApiError` carrying the server's Chinese `message`, and toasts it unless the
 *   caller asked for `toast: false`.
 */
import { ApiError, HttpError, NetworkError, fallbackMessage, isServerErrorBody } from './errors'
import { clearTokens, loadTokens, saveTokens, type TokenPair } from './tokens'
import { uuidv4 } from './uuid'

/**
 * No PATCH: wx.request (and so uni.request on mp-weixin) cannot send it. Partial updates go through
 * `http.patch`, which POSTs with `X-HTTP-Method-Override: PATCH` (the backend's ADR 7).
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'
export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  method?: HttpMethod
  /** Path under the API origin, e.g. `/api/v1/me`. */
  url: string
  query?: Query
  data?: unknown
  /** Attach the bearer token and refresh on 401 (default true). Login endpoints pass false. */
  auth?: boolean
  /** Show a toast with the error message on failure (default true). */
  toast?: boolean
  /** Reuse a key across *user-level* resubmissions (e.g. an offline queue). POSTs get a fresh one otherwise. */
  idempotencyKey?: string
  timeoutMs?: number
  /** Extra request headers (e.g. `X-HTTP-Method-Override`). */
  headers?: Record<string, string>
}

/** A multipart upload (`uni.uploadFile`): one file in field `name` (default `file`). */
export interface UploadOptions {
  url: string
  /** A local path from uni.chooseImage (a temp file on mp-weixin, a blob: URL on H5). */
  filePath: string
  name?: string
  formData?: Record<string, string>
  toast?: boolean
  timeoutMs?: number
}

export interface HttpConfig {
  /** Prepended to every url: '' for same origin, or e.g. 'https://api.example.org'. */
  baseUrl: string
  timeoutMs: number
  /** One entry per retry: the wait before it. `[400, 1200]` = up to 2 retries. */
  retryDelaysMs: number[]
  refreshPath: string
  /** Called once per failed refresh (the session is over). The app sends the user to the login page. */
  onAuthExpired?: () => void
  toast: (message: string) => void
}

const RETRYABLE_STATUS = new Set([502, 503, 504])

/**
 * The one 4xx that is retried: the backend answers 409 `RequestInFlight` when a resend arrives while the
 * first attempt with the same Idempotency-Key is still running (e.g. it outlived our timeout). Waiting
 * and asking again returns the first attempt's stored answer; giving up would leave the user unsure
 * whether their report or order went through.
 */
function isInFlight(status: number, body: unknown, key: string | undefined): boolean {
  return status === 409 && key !== undefined && isServerErrorBody(body) && body.error === 'RequestInFlight'
}

interface RawResponse {
  statusCode: number
  data: unknown
}

function defaultToast(message: string): void {
  uni.showToast({ title: message, icon: 'none', duration: 2500 })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** ±20 % jitter so many phones coming back online do not retry in lockstep. */
function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4))
}

export function buildQuery(query?: Query): string {
  if (!query) return ''
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

export function createHttp(overrides: Partial<HttpConfig> = {}) {
  const cfg: HttpConfig = {
    baseUrl: '',
    timeoutMs: 15000,
    retryDelaysMs: [400, 1200],
    refreshPath: '/api/v1/auth/refresh',
    toast: defaultToast,
    ...overrides,
  }
  let refreshInFlight: Promise<boolean> | null = null

  function send(opts: RequestOptions, method: HttpMethod, key: string | undefined, token: string | undefined) {
    const header: Record<string, string> = { Accept: 'application/json', ...opts.headers }
    if (method !== 'GET') header['Content-Type'] = 'application/json'
    if (token) header.Authorization = `Bearer ${token}`
    if (key) header['Idempotency-Key'] = key
    // No success/fail/complete callbacks: that is what makes uni.request return a Promise.
    return uni.request({
      url: cfg.baseUrl + opts.url + buildQuery(opts.query),
      method,
      data: method === 'GET' ? undefined : (opts.data as UniApp.RequestOptions['data']),
      header,
      timeout: opts.timeoutMs ?? cfg.timeoutMs,
      dataType: 'json',
    }) as unknown as Promise<RawResponse>
  }

  /** uni.uploadFile answers with the body as a string: parse it like uni.request's dataType json would. */
  async function sendUpload(opts: UploadOptions, key: string, token: string | undefined): Promise<RawResponse> {
    const header: Record<string, string> = { Accept: 'application/json', 'Idempotency-Key': key }
    if (token) header.Authorization = `Bearer ${token}`
    const res = (await uni.uploadFile({
      url: cfg.baseUrl + opts.url,
      filePath: opts.filePath,
      name: opts.name ?? 'file',
      formData: opts.formData,
      header,
      timeout: opts.timeoutMs ?? cfg.timeoutMs,
    } as UniApp.UploadFileOption)) as unknown as { statusCode: number; data: unknown }
    let data = res.data
    if (typeof data === 'string' && data) {
      try {
        data = JSON.parse(data)
      } catch {
        // not JSON (a proxy's HTML page): leave it, the error path builds a Chinese message
      }
    }
    return { statusCode: res.statusCode, data }
  }

  function surface(err: HttpError, opts: { toast?: boolean }): HttpError {
    if (opts.toast !== false && !err.shown) {
      cfg.toast(err.message)
      err.shown = true
    }
    return err
  }

  function expireSession(): void {
    clearTokens()
    cfg.onAuthExpired?.()
  }

  async function doRefresh(): Promise<boolean> {
    const tokens = loadTokens()
    if (!tokens) return false
    let pair: TokenPair
    try {
      pair = await request<TokenPair>({
        method: 'POST',
        url: cfg.refreshPath,
        data: { refresh_token: tokens.refresh_token },
        auth: false,
        toast: false,
      })
    } catch (err) {
      // No answer: the old pair may still be good, keep it and let the caller fail with a network error.
      if (err instanceof NetworkError) throw err
      if (err instanceof ApiError && err.status >= 500) throw err
      expireSession()
      return false
    }
    // A logout (or another login) that happened while we waited wins over this late answer.
    if (loadTokens()?.refresh_token !== tokens.refresh_token) return loadTokens() !== null
    saveTokens(pair)
    return true
  }

  /** Single-flight: every caller during one refresh gets the same promise. */
  function refreshTokens(): Promise<boolean> {
    if (!refreshInFlight) {
      refreshInFlight = doRefresh().finally(() => {
        refreshInFlight = null
      })
    }
    return refreshInFlight
  }

  /** After a 401 with `usedToken`: true when a newer access token is now available to retry with. */
  async function renewAfter401(usedToken: string): Promise<boolean> {
    const current = loadTokens()
    if (!current) return false
    if (current.access_token !== usedToken) return true // someone else refreshed meanwhile
    return refreshTokens()
  }

  async function request<T>(opts: RequestOptions): Promise<T> {
    const method = opts.method ?? 'GET'
    const key = opts.idempotencyKey ?? (method === 'POST' ? uuidv4() : undefined)
    // GET/PUT/DELETE are idempotent by definition and every POST carries a key: all may be resent.
    return execute<T>(opts, opts.auth !== false, key, (token) => send(opts, method, key, token))
  }

  /** Upload one file (multipart). Same token, refresh, retry and error rules as `request`. */
  function upload<T>(opts: UploadOptions): Promise<T> {
    const key = uuidv4()
    return execute<T>(opts, true, key, (token) => sendUpload(opts, key, token))
  }

  async function execute<T>(
    opts: { toast?: boolean },
    useAuth: boolean,
    key: string | undefined,
    transport: (token: string | undefined) => Promise<RawResponse>,
  ): Promise<T> {
    let retriesUsed = 0
    let refreshed = false

    for (;;) {
      const token = useAuth ? loadTokens()?.access_token : undefined
      let res: RawResponse
      try {
        res = await transport(token)
      } catch {
        if (retriesUsed < cfg.retryDelaysMs.length) {
          await sleep(jitter(cfg.retryDelaysMs[retriesUsed++]))
          continue
        }
        throw surface(new NetworkError(), opts)
      }

      const status = res.statusCode
      if (status >= 200 && status < 300) return (status === 204 ? undefined : res.data) as T

      if ((RETRYABLE_STATUS.has(status) || isInFlight(status, res.data, key)) && retriesUsed < cfg.retryDelaysMs.length) {
        await sleep(jitter(cfg.retryDelaysMs[retriesUsed++]))
        continue
      }

      if (status === 401 && useAuth && token && !refreshed) {
        refreshed = true
        let renewed: boolean
        try {
          renewed = await renewAfter401(token)
        } catch (err) {
          throw surface(err instanceof HttpError ? err : new NetworkError(), opts)
        }
        if (renewed) continue
      }

      const body = isServerErrorBody(res.data)
        ? res.data
        : { error: 'HttpError', message: fallbackMessage(status), detail: res.data }
      if (status === 401 && useAuth && token && refreshed && loadTokens()) {
        // Even the fresh token was refused: the session is not usable.
        expireSession()
      }
      throw surface(new ApiError(status, body), opts)
    }
  }

  /** An absolute URL for a path the API returned (signed media URLs are relative to the API origin). */
  function absoluteUrl(path: string): string {
    return path.startsWith('/') ? cfg.baseUrl + path : path
  }

  return {
    config: cfg,
    request,
    upload,
    absoluteUrl,
    refreshTokens,
    get: <T>(url: string, query?: Query, opts: Partial<RequestOptions> = {}) =>
      request<T>({ ...opts, method: 'GET', url, query }),
    post: <T>(url: string, data?: unknown, opts: Partial<RequestOptions> = {}) =>
      request<T>({ ...opts, method: 'POST', url, data }),
    put: <T>(url: string, data?: unknown, opts: Partial<RequestOptions> = {}) =>
      request<T>({ ...opts, method: 'PUT', url, data }),
    /** PATCH as POST + `X-HTTP-Method-Override: PATCH` (wx.request cannot send PATCH; the backend maps it, ADR 7). */
    patch: <T>(url: string, data?: unknown, opts: Partial<RequestOptions> = {}) =>
      request<T>({
        ...opts,
        method: 'POST',
        url,
        data,
        headers: { ...opts.headers, 'X-HTTP-Method-Override': 'PATCH' },
      }),
    del: <T>(url: string, opts: Partial<RequestOptions> = {}) => request<T>({ ...opts, method: 'DELETE', url }),
  }
}

export type Http = ReturnType<typeof createHttp>
