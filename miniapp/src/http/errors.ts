/**
 * Errors the http layer throws. Pages and stores catch these; nobody else builds them.
 *
 *   HttpError
 *   ├── ApiError       the server answered with a 4xx/5xx and (usually) its JSON error body
 *   │                  {"error": "ClassName", "message": "中文说明", "detail": ...}
 *   └── NetworkError   no answer at all (offline, DNS, timeout) after the retries ran out
 */

/** The one error body shape every backend 4xx/5xx uses. */
export interface ServerErrorBody {
  error: string
  message: string
  detail?: unknown
}

export class HttpError extends Error {
  /** Set once the http layer has shown this error to the user, so callers do not toast twice. */
  shown = false
}

export class ApiError extends HttpError {
  readonly status: number
  /** Server's error class name, e.g. "TaskAlreadyClaimed"; "HttpError" when the body was not JSON. */
  readonly code: string
  readonly detail: unknown

  constructor(status: number, body: ServerErrorBody) {
    super(body.message)
    this.name = 'ApiError'
    this.status = status
    this.code = body.error
    this.detail = body.detail
  }
}

export class NetworkError extends HttpError {
  constructor(message = '网络不给力，请检查网络后再试') {
    super(message)
    this.name = 'NetworkError'
  }
}

export function isServerErrorBody(body: unknown): body is ServerErrorBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ServerErrorBody).error === 'string' &&
    typeof (body as ServerErrorBody).message === 'string'
  )
}

/** Chinese fallback when a proxy or crash returns a body without our shape. */
export function fallbackMessage(status: number): string {
  if (status === 401) return '登录已过期，请重新登录'
  if (status === 403) return '没有权限进行此操作'
  if (status === 404) return '要找的内容不存在'
  if (status === 429) return '操作太频繁，请稍后再试'
  if (status >= 500) return '服务器开小差了，请稍后再试'
  return `请求失败（${status}）`
}
