/**
 * The `uni` global for unit tests: synchronous storage in a Map, toasts recorded, navigation recorded,
 * `uni.login` answering a configurable code, and `uni.request` going to a FakeBackend.
 */
import { FakeBackend } from './fake-backend'

export interface UniStub {
  backend: FakeBackend
  storage: Map<string, unknown>
  toasts: string[]
  navigations: string[]
  wechatCode: string | null
}

let current: UniStub | null = null

export function uniStub(): UniStub {
  if (!current) throw new Error('uni stub not installed (src/test/setup.ts)')
  return current
}

export function installUniStub(): UniStub {
  const stub: UniStub = { backend: new FakeBackend(), storage: new Map(), toasts: [], navigations: [], wechatCode: 'wx-code-ok' }
  const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)))
  const uni = {
    getStorageSync: (k: string) => clone(stub.storage.get(k) ?? ''),
    setStorageSync: (k: string, v: unknown) => void stub.storage.set(k, clone(v)),
    removeStorageSync: (k: string) => void stub.storage.delete(k),
    showToast: (o: { title: string }) => void stub.toasts.push(o.title),
    request: (o: Parameters<FakeBackend['handle']>[0] & { success?: unknown; fail?: unknown }) => {
      if (o.success || o.fail) throw new Error('tests expect the Promise form of uni.request (no callbacks)')
      return stub.backend.handle(o)
    },
    login: (o: { success: (r: { code: string; errMsg: string }) => void; fail: (e: { errMsg: string }) => void }) =>
      queueMicrotask(() =>
        stub.wechatCode ? o.success({ code: stub.wechatCode, errMsg: 'login:ok' }) : o.fail({ errMsg: 'login:fail' }),
      ),
    reLaunch: (o: { url: string }) => void stub.navigations.push(o.url),
    navigateTo: (o: { url: string }) => void stub.navigations.push(o.url),
  }
  ;(globalThis as unknown as { uni: typeof uni }).uni = uni
  current = stub
  return stub
}
