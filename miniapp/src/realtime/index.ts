/**
 * The app's one realtime connection (see client.ts), wired to uni's socket API, the token store and the inbox
 * store. `startRealtime()` when a signed-in page shows, `pauseRealtime()` when the app goes to the background,
 * `stopRealtime()` on logout. Status is reactive for pages that show "实时连接中 / 已断开，正在重连".
 */
import { ref } from 'vue'
import type { InboxItem } from '@/api/types'
import { onNetworkChange } from '@/device/network'
import { http, loadTokens, onTokensChanged, socketUrl } from '@/http'
import { useInboxStore } from '@/stores/inbox'
import { RealtimeClient, type RealtimeStatus, type SocketLike } from './client'

export const realtimeStatus = ref<RealtimeStatus>('idle')

function connect(url: string, protocols: string[]): SocketLike {
  // With a callback uni.connectSocket returns the SocketTask (without one it returns a Promise).
  return uni.connectSocket({ url, protocols, complete: () => undefined }) as unknown as SocketLike
}

let client: RealtimeClient | null = null
let wired = false

function instance(): RealtimeClient {
  if (client) return client
  const inbox = useInboxStore()
  client = new RealtimeClient({
    url: () => socketUrl(),
    connect,
    token: () => loadTokens()?.access_token ?? null,
    renewToken: () => http.refreshTokens(),
    cursor: () => inbox.newestId,
    onItem: (item: InboxItem) => inbox.receive(item),
    onOverflow: () => void inbox.load({ quiet: true }).catch(() => undefined),
    onStatus: (s) => (realtimeStatus.value = s),
  })
  if (!wired) {
    wired = true
    onTokensChanged((t) => client?.tokenChanged(t?.access_token ?? null))
    onNetworkChange((online) => client?.networkChanged(online))
  }
  return client
}

/** Load the inbox (the cursor) and open the socket; safe to call on every page show. */
export async function startRealtime(): Promise<void> {
  if (!loadTokens()) return
  const inbox = useInboxStore()
  const rt = instance()
  if (!inbox.loaded) {
    try {
      await inbox.load({ quiet: true })
    } catch {
      // offline: the socket resumes from whatever we have once it connects
    }
  }
  rt.markSeen(inbox.items.map((i) => i.id))
  rt.start()
}

export function pauseRealtime(): void {
  client?.pause()
}

export function stopRealtime(): void {
  client?.stop()
  useInboxStore().reset()
}
