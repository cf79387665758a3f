/**
 * The inbox: what the HTTP list returned plus what the socket handed over since, newest first, each item once.
 * Its newest id is the cursor the realtime client resumes from. Other stores (the grid worker's queue, the
 * volunteer's task hall) subscribe to kinds with `onKind` to react to arrivals without reloading.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as api from '@/api/notifications'
import type { InboxItem } from '@/api/types'

type Listener = (item: InboxItem) => void

export const useInboxStore = defineStore('inbox', () => {
  const items = ref<InboxItem[]>([])
  const unread = ref(0)
  const nextCursor = ref<string | null>(null)
  const loaded = ref(false)
  const loading = ref(false)
  const listeners = new Map<string, Set<Listener>>()

  const newestId = computed<number | null>(() => (items.value.length ? items.value[0].id : null))

  function insert(item: InboxItem): boolean {
    if (items.value.some((i) => i.id === item.id)) return false
    const at = items.value.findIndex((i) => i.id < item.id)
    if (at < 0) items.value.push(item)
    else items.value.splice(at, 0, item)
    return true
  }

  /** First page over HTTP (and the unread count). Items that came by socket meanwhile are kept. */
  async function load(opts: { quiet?: boolean } = {}): Promise<void> {
    loading.value = true
    try {
      const page = await api.inbox(null, 20, { toast: !opts.quiet })
      const live = items.value.filter((i) => !page.items.some((p) => p.id === i.id))
      items.value = [...page.items]
      live.forEach(insert)
      unread.value = page.unread
      nextCursor.value = page.next_cursor ?? null
      loaded.value = true
    } finally {
      loading.value = false
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value || loading.value) return
    loading.value = true
    try {
      const page = await api.inbox(nextCursor.value)
      page.items.forEach(insert)
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  async function refreshUnread(): Promise<void> {
    try {
      unread.value = (await api.unreadCount()).unread
    } catch {
      // offline: keep the last count
    }
  }

  /** An item from the socket: add it once, count it as unread, and tell whoever listens for its kind. */
  function receive(item: InboxItem): void {
    if (!insert(item)) return
    if (!item.read_at) unread.value++
    for (const [prefix, fns] of listeners) {
      if (item.kind === prefix || item.kind.startsWith(`${prefix}.`)) fns.forEach((fn) => fn(item))
    }
  }

  /** Listen for items of a kind (`report.created`) or a family (`report`); returns the unsubscribe function. */
  function onKind(prefix: string, fn: Listener): () => void {
    if (!listeners.has(prefix)) listeners.set(prefix, new Set())
    listeners.get(prefix)!.add(fn)
    return () => listeners.get(prefix)?.delete(fn)
  }

  async function markRead(id: number): Promise<void> {
    const item = items.value.find((i) => i.id === id)
    if (!item || item.read_at) return
    const updated = await api.markRead(id)
    Object.assign(item, updated)
    unread.value = Math.max(0, unread.value - 1)
  }

  async function markAllRead(): Promise<void> {
    if (newestId.value === null) return
    await api.readAll(newestId.value)
    const now = new Date().toISOString()
    items.value.forEach((i) => {
      if (!i.read_at) i.read_at = now
    })
    await refreshUnread()
  }

  function reset(): void {
    items.value = []
    unread.value = 0
    nextCursor.value = null
    loaded.value = false
  }

  return { items, unread, nextCursor, loaded, loading, newestId, load, loadMore, refreshUnread, receive, onKind, markRead, markAllRead, reset }
})
