/**
 * The `uni` global for unit tests: synchronous storage in a Map, toasts recorded, navigation recorded,
 * `uni.login` answering a configurable code, `uni.request` / `uni.uploadFile` going to a FakeBackend,
 * and small controllable stand-ins for sockets, location, the image picker, subscribe-message consent and
 * network status events.
 */
import { FakeBackend } from './fake-backend'

/** A socket the test drives: it records what the app sent and lets the test open, message and close it. */
export class FakeSocket {
  readonly sent: unknown[] = []
  closed: { code?: number; reason?: string } | null = null
  private handlers = { open: [] as (() => void)[], message: [] as ((r: { data: string }) => void)[],
    close: [] as ((r: { code: number; reason: string }) => void)[], error: [] as ((e: unknown) => void)[] }

  constructor(readonly url: string, readonly protocols: string[]) {}

  onOpen(fn: () => void) { this.handlers.open.push(fn) }
  onMessage(fn: (r: { data: string }) => void) { this.handlers.message.push(fn) }
  onClose(fn: (r: { code: number; reason: string }) => void) { this.handlers.close.push(fn) }
  onError(fn: (e: unknown) => void) { this.handlers.error.push(fn) }
  send(o: { data: string }) { this.sent.push(JSON.parse(o.data)) }
  close(o: { code?: number; reason?: string } = {}) {
    if (this.closed) return
    this.closed = o
    // like a browser: the close event follows an app-initiated close
    this.handlers.close.forEach((fn) => fn({ code: o.code ?? 1000, reason: o.reason ?? '' }))
  }

  // ---- test side
  serverOpen() { this.handlers.open.forEach((fn) => fn()) }
  serverSend(frame: unknown) { this.handlers.message.forEach((fn) => fn({ data: JSON.stringify(frame) })) }
  serverClose(code: number, reason = '') {
    this.closed = { code, reason }
    this.handlers.close.forEach((fn) => fn({ code, reason }))
  }
  serverError() { this.handlers.error.forEach((fn) => fn({ errMsg: 'socket error' })) }
  /** Frames of one type the app sent. */
  sentOfType(type: string) { return this.sent.filter((f) => (f as { type?: string }).type === type) }
}

export interface UniStub {
  backend: FakeBackend
  storage: Map<string, unknown>
  toasts: string[]
  navigations: string[]
  modals: { title?: string; content?: string }[]
  wechatCode: string | null
  sockets: FakeSocket[]
  /** What uni.getLocation answers; null = permission denied / no fix. */
  location: { latitude: number; longitude: number; accuracy?: number } | null
  locationCalls: { type?: string }[]
  /** Paths uni.chooseImage answers with; null = the user cancelled. */
  chosenImages: string[] | null
  /** What requestSubscribeMessage answers per template id; null = the call fails. */
  subscribeAnswer: Record<string, string> | null
  subscribeCalls: string[][]
  networkListeners: ((r: { isConnected: boolean; networkType: string }) => void)[]
  /** Fire uni.onNetworkStatusChange listeners. */
  setOnline(online: boolean): void
}

let current: UniStub | null = null

export function uniStub(): UniStub {
  if (!current) throw new Error('uni stub not installed (src/test/setup.ts)')
  return current
}

export function installUniStub(): UniStub {
  const stub: UniStub = {
    backend: new FakeBackend(),
    storage: new Map(),
    toasts: [],
    navigations: [],
    modals: [],
    wechatCode: 'wx-code-ok',
    sockets: [],
    location: { latitude: 36.06569, longitude: 103.72566, accuracy: 12 },
    locationCalls: [],
    chosenImages: ['blob:photo-1'],
    subscribeAnswer: {},
    subscribeCalls: [],
    networkListeners: [],
    setOnline(online) {
      this.networkListeners.forEach((fn) => fn({ isConnected: online, networkType: online ? 'wifi' : 'none' }))
      // the browser's own events too (src/device/network.ts listens to both; it wires itself once per test file)
      window.dispatchEvent(new Event(online ? 'online' : 'offline'))
    },
  }
  const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)))
  type Cb<T> = { success?: (r: T) => void; fail?: (e: { errMsg: string }) => void; complete?: () => void }
  const answer = <T>(o: Cb<T>, ok: T | null, err = 'fail') =>
    queueMicrotask(() => {
      if (ok !== null) o.success?.(ok)
      else o.fail?.({ errMsg: err })
      o.complete?.()
    })
  const uni = {
    getStorageSync: (k: string) => clone(stub.storage.get(k) ?? ''),
    setStorageSync: (k: string, v: unknown) => void stub.storage.set(k, clone(v)),
    removeStorageSync: (k: string) => void stub.storage.delete(k),
    showToast: (o: { title: string }) => void stub.toasts.push(o.title),
    showModal: (o: { title?: string; content?: string; success?: (r: { confirm: boolean }) => void }) => {
      stub.modals.push({ title: o.title, content: o.content })
      queueMicrotask(() => o.success?.({ confirm: true }))
    },
    request: (o: Parameters<FakeBackend['handle']>[0] & { success?: unknown; fail?: unknown }) => {
      if (o.success || o.fail) throw new Error('tests expect the Promise form of uni.request (no callbacks)')
      return stub.backend.handle(o)
    },
    uploadFile: async (o: {
      url: string
      filePath: string
      name: string
      formData?: Record<string, string>
      header?: Record<string, string>
      success?: unknown
    }) => {
      if (o.success) throw new Error('tests expect the Promise form of uni.uploadFile (no callbacks)')
      const res = await stub.backend.handle({
        url: o.url,
        method: 'POST',
        header: o.header,
        data: { multipart: true, field: o.name, filePath: o.filePath, formData: o.formData ?? {} },
      })
      // wx.uploadFile gives the body as a string
      return { statusCode: res.statusCode, data: res.data === '' ? '' : JSON.stringify(res.data) }
    },
    login: (o: { success: (r: { code: string; errMsg: string }) => void; fail: (e: { errMsg: string }) => void }) =>
      queueMicrotask(() =>
        stub.wechatCode ? o.success({ code: stub.wechatCode, errMsg: 'login:ok' }) : o.fail({ errMsg: 'login:fail' }),
      ),
    reLaunch: (o: { url: string }) => void stub.navigations.push(o.url),
    navigateTo: (o: { url: string }) => void stub.navigations.push(o.url),
    connectSocket: (o: { url: string; protocols?: string[]; complete?: () => void }) => {
      const socket = new FakeSocket(o.url, o.protocols ?? [])
      stub.sockets.push(socket)
      return socket
    },
    getLocation: (o: { type?: string } & Cb<{ latitude: number; longitude: number; accuracy: number }>) => {
      stub.locationCalls.push({ type: o.type })
      const loc = stub.location
      answer(o, loc ? { latitude: loc.latitude, longitude: loc.longitude, accuracy: loc.accuracy ?? 30 } : null,
        'getLocation:fail auth deny')
    },
    chooseImage: (o: { count?: number } & Cb<{ tempFilePaths: string[] }>) =>
      answer(o, stub.chosenImages ? { tempFilePaths: stub.chosenImages.slice(0, o.count ?? 9) } : null,
        'chooseImage:fail cancel'),
    requestSubscribeMessage: (o: { tmplIds: string[] } & Cb<Record<string, string>>) => {
      stub.subscribeCalls.push(o.tmplIds)
      answer(o, stub.subscribeAnswer ? { errMsg: 'requestSubscribeMessage:ok', ...stub.subscribeAnswer } : null)
    },
    getNetworkType: (o: Cb<{ networkType: string }>) => answer(o, { networkType: 'wifi' }),
    onNetworkStatusChange: (fn: (r: { isConnected: boolean; networkType: string }) => void) =>
      void stub.networkListeners.push(fn),
    offNetworkStatusChange: (fn: (r: { isConnected: boolean; networkType: string }) => void) => {
      stub.networkListeners = stub.networkListeners.filter((f) => f !== fn)
    },
  }
  ;(globalThis as unknown as { uni: typeof uni }).uni = uni
  current = stub
  return stub
}
