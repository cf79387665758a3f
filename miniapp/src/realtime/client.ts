/**
 * One WebSocket to `/api/v1/ws`, kept alive for as long as the app is in the foreground and someone is signed
 * in. The socket is only a hint channel (docs/notifications.md): the inbox in the database is the truth, so
 * everything here is about never missing and never doubling an item:
 *
 * - authenticate with the access token in `Sec-WebSocket-Protocol` (`["jinlin.v1", "bearer.<token>"]`), never in
 *   the URL; when the http layer rotates the token, send `{"type": "auth"}` so the socket outlives it;
 * - after `hello`, `resume` from the newest inbox id the app has (the larger of what the socket delivered and what
 *   the inbox store loaded over HTTP); the server replays what was missed, oldest first, then goes live;
 * - hand each item to `onItem` once: ids already seen (from HTTP or an earlier socket), or older than the newest
 *   one we have (items of one user arrive in id order), are dropped;
 * - reconnect with exponential backoff and jitter after any unplanned close or silence longer than two
 *   heartbeats; at once when the network comes back; after 4401 only once the token was renewed; never after
 *   4409 (a newer socket of the same user replaced this one) until the app is shown again.
 *
 * Everything the client touches from outside (sockets, timers, tokens) is injected, so tests drive it exactly.
 */
import type { InboxItem } from '@/api/types'

export interface SocketLike {
  onOpen(fn: () => void): void
  onMessage(fn: (res: { data: unknown }) => void): void
  onClose(fn: (res: { code?: number; reason?: string }) => void): void
  onError(fn: (err: unknown) => void): void
  send(opts: { data: string }): void
  close(opts?: { code?: number; reason?: string }): void
}

export type RealtimeStatus =
  | 'idle' // not started, or paused while the app is in the background
  | 'connecting' // socket opening / authenticating / replaying
  | 'live' // resumed: new items arrive as they happen
  | 'waiting' // disconnected, a reconnect is scheduled
  | 'replaced' // the server closed us for a newer socket of the same user (4409)
  | 'stopped' // no session (logged out, or the token could not be renewed)

type Timer = ReturnType<typeof setTimeout>

export interface RealtimeOptions {
  url: () => string
  connect: (url: string, protocols: string[]) => SocketLike
  /** The current access token, or null when signed out. */
  token: () => string | null
  /** Renew the token pair (the http layer's single-flight refresh); false when the session is over. */
  renewToken: () => Promise<boolean>
  /** The newest inbox id the app already has (from the HTTP list), or null. */
  cursor: () => number | null
  onItem: (item: InboxItem) => void
  /** More than the server will replay was missed: reload the inbox over HTTP. */
  onOverflow?: (latest: number | null) => void
  onStatus?: (status: RealtimeStatus) => void
  backoff?: { baseMs: number; maxMs: number }
  /** Used when the server's hello does not say (seconds). */
  defaultPingSeconds?: number
  random?: () => number
  setTimer?: (fn: () => void, ms: number) => Timer
  clearTimer?: (t: Timer) => void
  now?: () => number
}

export const PROTOCOL = 'jinlin.v1'
const SEEN_LIMIT = 500
/** Close codes we use ourselves (4000–4099 are application codes the server never sends). */
const CLOSE_STALE = 4000
const CLOSE_PAUSED = 1000

/** Seconds since the epoch at which a JWT expires, or null when the token is not a JWT with `exp`. */
export function tokenExpiresAt(token: string): number | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
    const exp = (JSON.parse(json) as { exp?: unknown }).exp
    return typeof exp === 'number' ? exp : null
  } catch {
    return null
  }
}

/** atob is missing on mp-weixin: a small decoder for the ASCII JSON of a JWT payload. */
function decodeBase64(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let out = ''
  let buffer = 0
  let bits = 0
  for (const ch of s) {
    if (ch === '=') break
    const v = alphabet.indexOf(ch)
    if (v < 0) throw new Error('not base64')
    buffer = (buffer << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((buffer >> bits) & 0xff)
    }
  }
  return decodeURIComponent(escape(out))
}

export class RealtimeClient {
  status: RealtimeStatus = 'idle'
  /** The newest item id the socket delivered (or the app told us about). */
  lastId: number | null = null
  /** Consecutive failed connections; the backoff grows with it and resets once a socket is live. */
  attempts = 0
  private socket: SocketLike | null = null
  private generation = 0
  private running = false
  private seen = new Set<number>()
  private reconnectTimer: Timer | null = null
  private watchdog: Timer | null = null
  private renewTimer: Timer | null = null
  private pingSeconds: number
  private readonly o: Required<Omit<RealtimeOptions, 'onOverflow' | 'onStatus'>> &
    Pick<RealtimeOptions, 'onOverflow' | 'onStatus'>

  constructor(options: RealtimeOptions) {
    this.o = {
      backoff: { baseMs: 1000, maxMs: 30_000 },
      defaultPingSeconds: 25,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t),
      now: () => Date.now(),
      ...options,
    }
    this.pingSeconds = this.o.defaultPingSeconds
  }

  /** Start (or restart after pause / replacement). Does nothing while already running. */
  start(): void {
    if (this.running) return
    this.running = true
    this.attempts = 0
    this.open()
  }

  /** Close for good (logout): forget the position too, the next user starts from their own inbox. */
  stop(): void {
    this.halt('stopped')
    this.lastId = null
    this.seen.clear()
  }

  /** Close while the app is in the background (mini-programs cut sockets 5 s after hiding anyway). */
  pause(): void {
    this.halt('idle')
  }

  /** Items the app loaded over HTTP: never hand them over again, and resume after the newest. */
  markSeen(ids: number[]): void {
    for (const id of ids) this.remember(id)
  }

  /** The network came back (uni.onNetworkStatusChange): do not wait out the backoff. */
  networkChanged(online: boolean): void {
    if (!online || !this.running) return
    if (this.status === 'waiting') {
      this.attempts = 0
      this.clearReconnect()
      this.open()
    }
  }

  /** The http layer rotated the token pair: tell the open socket, so it is not closed when the old one expires. */
  tokenChanged(token: string | null): void {
    if (!this.running) return
    if (token === null) {
      this.stop()
      return
    }
    if (this.status === 'live' || this.status === 'connecting') this.sendFrame({ type: 'auth', token })
    this.scheduleRenew(token)
  }

  // ------------------------------------------------------------------------------------------ internals

  private setStatus(status: RealtimeStatus): void {
    if (this.status === status) return
    this.status = status
    this.o.onStatus?.(status)
  }

  private halt(status: RealtimeStatus): void {
    this.running = false
    this.clearReconnect()
    this.clearWatchdog()
    if (this.renewTimer) this.o.clearTimer(this.renewTimer)
    this.renewTimer = null
    const socket = this.socket
    this.socket = null
    this.generation++ // events of the closing socket are ignored from now on
    if (socket) {
      try {
        socket.close({ code: CLOSE_PAUSED, reason: status === 'stopped' ? '已退出' : '切到后台' })
      } catch {
        // already closed
      }
    }
    this.setStatus(status)
  }

  private open(): void {
    const token = this.o.token()
    if (!token) {
      this.halt('stopped')
      return
    }
    const gen = ++this.generation
    this.setStatus('connecting')
    let socket: SocketLike
    try {
      socket = this.o.connect(this.o.url(), [PROTOCOL, `bearer.${token}`])
    } catch {
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    const mine = () => gen === this.generation
    socket.onOpen(() => {
      if (mine()) this.kickWatchdog()
    })
    socket.onMessage((res) => {
      if (mine()) this.handle(res.data)
    })
    socket.onError(() => {
      // on some platforms no close event follows an error: treat it as one
      if (mine()) this.closed(undefined)
    })
    socket.onClose((res) => {
      if (mine()) this.closed(res.code)
    })
    this.scheduleRenew(token)
  }

  private handle(raw: unknown): void {
    this.kickWatchdog()
    let frame: Record<string, unknown>
    try {
      frame = typeof raw === 'string' ? JSON.parse(raw) : (raw as Record<string, unknown>)
    } catch {
      return
    }
    switch (frame?.type) {
      case 'hello': {
        const ping = frame.ping_seconds
        if (typeof ping === 'number' && ping > 0) this.pingSeconds = ping
        this.kickWatchdog()
        this.sendFrame({ type: 'resume', after: this.resumeFrom() })
        break
      }
      case 'item': {
        const item = frame.item as InboxItem | undefined
        if (!item || typeof item.id !== 'number') return
        // one user's items arrive in id order, so anything at or below the newest we have is old news
        if (this.seen.has(item.id) || (this.lastId !== null && item.id <= this.lastId)) return
        this.remember(item.id)
        this.o.onItem(item)
        break
      }
      case 'resumed':
        this.attempts = 0
        this.setStatus('live')
        break
      case 'ping':
        this.sendFrame({ type: 'pong' })
        break
      case 'overflow': {
        const latest = typeof frame.latest === 'number' ? frame.latest : null
        if (latest !== null) this.remember(latest)
        this.o.onOverflow?.(latest)
        break
      }
      default:
        break // auth_ok, error frames: nothing to do
    }
  }

  private resumeFrom(): number | null {
    const fromApp = this.o.cursor()
    if (this.lastId === null) return fromApp
    return fromApp === null ? this.lastId : Math.max(this.lastId, fromApp)
  }

  private remember(id: number): void {
    this.seen.add(id)
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = Math.min(...this.seen)
      this.seen.delete(oldest)
    }
    if (this.lastId === null || id > this.lastId) this.lastId = id
  }

  private closed(code: number | undefined): void {
    this.clearWatchdog()
    const socket = this.socket
    this.socket = null
    this.generation++
    try {
      socket?.close({ code: CLOSE_STALE, reason: '重新连接' })
    } catch {
      // already closed
    }
    if (!this.running) return
    if (code === 4409) {
      this.running = false
      this.setStatus('replaced')
      return
    }
    if (code === 4401) {
      // the token was refused or expired: renew it first; without a session there is nothing to reconnect to
      this.setStatus('waiting')
      this.o.renewToken().then(
        (ok) => {
          if (!this.running) return
          if (ok) this.scheduleReconnect(0)
          else this.halt('stopped')
        },
        () => this.scheduleReconnect(),
      )
      return
    }
    this.scheduleReconnect()
  }

  /**
   * The wait before reconnect attempt n: base·2ⁿ capped at max, then "equal jitter" (between half and all of
   * it), so a street's worth of phones coming back online do not reconnect in step.
   */
  delayFor(attempt: number): number {
    const { baseMs, maxMs } = this.o.backoff
    const capped = Math.min(maxMs, baseMs * 2 ** attempt)
    return Math.round(capped / 2 + (capped / 2) * this.o.random())
  }

  private scheduleReconnect(delay?: number): void {
    this.clearReconnect()
    this.setStatus('waiting')
    const wait = delay ?? this.delayFor(this.attempts)
    this.attempts++
    this.reconnectTimer = this.o.setTimer(() => {
      this.reconnectTimer = null
      if (this.running) this.open()
    }, wait)
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) this.o.clearTimer(this.reconnectTimer)
    this.reconnectTimer = null
  }

  /** No frame for two heartbeats (plus slack): the socket is dead even if nobody told us. */
  private kickWatchdog(): void {
    this.clearWatchdog()
    this.watchdog = this.o.setTimer(() => {
      this.watchdog = null
      if (this.running && this.socket) this.closed(undefined)
    }, (this.pingSeconds * 2 + 5) * 1000)
  }

  private clearWatchdog(): void {
    if (this.watchdog) this.o.clearTimer(this.watchdog)
    this.watchdog = null
  }

  /** Renew the token a minute before it expires, so the socket never gets the 4401. */
  private scheduleRenew(token: string): void {
    if (this.renewTimer) this.o.clearTimer(this.renewTimer)
    this.renewTimer = null
    const exp = tokenExpiresAt(token)
    if (exp === null) return
    const wait = Math.max(5_000, exp * 1000 - this.o.now() - 60_000)
    this.renewTimer = this.o.setTimer(() => {
      this.renewTimer = null
      if (this.running) void this.o.renewToken().catch(() => undefined)
    }, wait)
  }

  private sendFrame(frame: Record<string, unknown>): void {
    try {
      this.socket?.send({ data: JSON.stringify(frame) })
    } catch {
      // not open: the close handler reconnects
    }
  }
}
