/**
 * Network up/down for code that must react when the signal comes back (the offline visit queue, the socket).
 * mp-weixin: uni.onNetworkStatusChange. H5: the window's own online/offline events only — uni's H5 version reads
 * `navigator.connection`, whose `type` is missing in desktop browsers, so it reports "4g, connected" even while
 * the browser is offline. Listeners may hear the same change twice: they are idempotent.
 */
import { isH5 } from '@/platform'

type Listener = (online: boolean) => void
const listeners = new Set<Listener>()
let wired = false
let lastKnown: boolean | null = null

function emit(online: boolean): void {
  lastKnown = online
  listeners.forEach((fn) => fn(online))
}

function wire(): void {
  if (wired) return
  wired = true
  if (!isH5) uni.onNetworkStatusChange((res) => emit(res.isConnected))
  const w = typeof window !== 'undefined' ? window : undefined
  if (isH5 && w && typeof w.addEventListener === 'function') {
    w.addEventListener('online', () => emit(true))
    w.addEventListener('offline', () => emit(false))
  }
}

/** Subscribe to changes; returns the unsubscribe function. */
export function onNetworkChange(fn: Listener): () => void {
  wire()
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/** Best guess right now: the last change heard, else the browser's flag, else assume online. */
export function isOnline(): boolean {
  if (lastKnown !== null) return lastKnown
  const nav = typeof navigator !== 'undefined' ? navigator : undefined
  return nav && typeof nav.onLine === 'boolean' ? nav.onLine : true
}

/** Ask the platform (mp-weixin knows; H5 trusts navigator.onLine, see above). */
export function checkNetwork(): Promise<boolean> {
  if (isH5) {
    lastKnown = typeof navigator === 'undefined' || navigator.onLine !== false
    return Promise.resolve(lastKnown)
  }
  return new Promise((resolve) => {
    uni.getNetworkType({
      success: (res) => {
        const nav = typeof navigator !== 'undefined' ? navigator : undefined
        const online = res.networkType !== 'none' && !(nav && nav.onLine === false)
        lastKnown = online
        resolve(online)
      },
      fail: () => resolve(isOnline()),
    })
  })
}

/** Tests only: forget listeners of stores from earlier tests (the app has one store, tests make many). */
export function resetNetworkListeners(): void {
  listeners.clear()
  lastKnown = null
}
