/**
 * The grid worker's (and grid leader's, community staff's) queue of reports: 待受理 (new), 我办理中 (mine), 超时
 * (overdue). New reports arrive over the realtime socket as inbox items (`report.created`, `report.escalated`):
 * the store fetches the report and puts it at the top of 待受理 without reloading the list, and counts it as an
 * arrival until the person has looked at that tab (the badge).
 */
import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import * as reportsApi from '@/api/reports'
import type { QueueView } from '@/api/reports'
import type { InboxItem, ReportItem } from '@/api/types'
import { useInboxStore } from './inbox'

export const QUEUE_VIEWS: { key: QueueView; label: string }[] = [
  { key: 'new', label: '待受理' },
  { key: 'mine', label: '我办理中' },
  { key: 'overdue', label: '已超时' },
]

export const useReportQueueStore = defineStore('reportQueue', () => {
  const lists = reactive<Record<QueueView, ReportItem[]>>({ new: [], mine: [], overdue: [] })
  const cursors = reactive<Record<QueueView, string | null>>({ new: null, mine: null, overdue: null })
  const loaded = reactive<Record<QueueView, boolean>>({ new: false, mine: false, overdue: false })
  const loading = ref(false)
  /** Reports that arrived live and are not yet looked at (the badge), newest first. */
  const arrivals = ref<number[]>([])
  /** Reports that arrived live in this session (highlighted in the list). */
  const fresh = ref<number[]>([])
  let unsubscribe: (() => void)[] = []

  async function load(view: QueueView): Promise<void> {
    loading.value = true
    try {
      const page = await reportsApi.queue(view)
      // keep live arrivals the page may not include yet (it was read before they committed)
      const live = lists[view].filter((r) => fresh.value.includes(r.id) && !page.items.some((p) => p.id === r.id))
      lists[view] = [...live, ...page.items]
      cursors[view] = page.next_cursor ?? null
      loaded[view] = true
    } finally {
      loading.value = false
    }
  }

  async function loadMore(view: QueueView): Promise<void> {
    const cursor = cursors[view]
    if (!cursor || loading.value) return
    loading.value = true
    try {
      const page = await reportsApi.queue(view, cursor)
      const known = new Set(lists[view].map((r) => r.id))
      lists[view].push(...page.items.filter((r) => !known.has(r.id)))
      cursors[view] = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  /** A report waiting at my level arrived: put it on top of 待受理 (once) and count it for the badge. */
  async function arrived(item: InboxItem): Promise<void> {
    const id = Number((item.data as { report_id?: unknown }).report_id)
    if (!Number.isInteger(id) || id <= 0) return
    let report: ReportItem
    try {
      report = await reportsApi.get(id, { toast: false })
    } catch {
      return // gone, or out of my reach now: the next reload shows the truth
    }
    if (report.status !== 'submitted') return
    if (!lists.new.some((r) => r.id === id)) lists.new.unshift(report)
    if (!arrivals.value.includes(id)) arrivals.value.unshift(id)
    if (!fresh.value.includes(id)) fresh.value.push(id)
  }

  /** Start listening to the inbox for arrivals (idempotent). */
  function subscribe(): void {
    if (unsubscribe.length) return
    const inbox = useInboxStore()
    unsubscribe = [
      inbox.onKind('report.created', (i) => void arrived(i)),
      inbox.onKind('report.escalated', (i) => void arrived(i)),
      inbox.onKind('report.overdue', () => void (loaded.overdue ? load('overdue').catch(() => undefined) : undefined)),
    ]
  }

  function unsubscribeAll(): void {
    unsubscribe.forEach((fn) => fn())
    unsubscribe = []
  }

  /** The person looked at 待受理: the badge goes away (the highlight stays for this session). */
  function seen(): void {
    arrivals.value = []
  }

  /** After acting on a report (accept, resolve, escalate…) the lists change: drop it where it no longer belongs. */
  function settled(id: number, status: string): void {
    if (status !== 'submitted') lists.new = lists.new.filter((r) => r.id !== id)
    if (status !== 'accepted' && status !== 'need_info') lists.mine = lists.mine.filter((r) => r.id !== id)
    arrivals.value = arrivals.value.filter((a) => a !== id)
  }

  return { lists, cursors, loaded, loading, arrivals, fresh, load, loadMore, arrived, subscribe, unsubscribeAll, seen, settled }
})
