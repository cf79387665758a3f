/**
 * Network up/down for code that must react when the signal comes back (the offline visit queue, the socket).
 * uni.onNetworkStatusChange covers mp-weixin; in a desktop browser uni's H5 version reads
 * `navigator.connection`, whose `type` is missing and which does not fire on going offline, so on H5 the
 * window's own online/offline events are used too. Listeners may hear the same change twice: they are idempotent.
 */
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
  uni.onNetworkStatusChange((res) => emit(res.isConnected))
  const w = typeof window !== 'undefined' ? window : undefined
  if (w && typeof w.addEventListener === 'function') {
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

/** Ask the platform (mp-weixin knows; H5 falls back to navigator.onLine). */
export function checkNetwork(): Promise<boolean> {
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
