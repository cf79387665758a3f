/**
 * Home-visit check-ins that work with no signal (docs/visits.md, "Sync protocol"; the backend's ADR 19).
 *
 * A check-in is written to device storage (uni.setStorageSync) the moment the visitor taps 打卡, with a UUID made
 * on the phone (`client_id`) that never changes. Syncing sends every waiting item through POST /api/v1/visits/sync
 * and keeps each item's answer:
 *   created / duplicate (the server already had it) / updated  → 已上传
 *   conflict (same client id, other content; or an edit of an older version) → the person decides
 *   rejected (household gone, month locked…) → the server's sentence; 再试一次 resends the same client id
 * No answer at all keeps the items waiting; they are sent again (same client ids, so never twice) when the
 * network comes back, when the page is shown, or after a backoff. Photos are uploaded first and their media ids
 * kept on the item, so a retry never uploads a photo twice.
 *
 * The queue belongs to the person who recorded it: it is stored under their user id, so someone else signing in
 * on the same phone neither sees nor sends it.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { uploadPhoto } from '@/api/media'
import { onNetworkChange } from '@/device/network'
import type { SyncResult, VisitConflict, VisitIn } from '@/api/types'
import * as visitsApi from '@/api/visits'
import { ApiError, NetworkError } from '@/http'
import { uuidv4 } from '@/http/uuid'
import { isoWithOffset } from '@/domain/time'

export type QueueState =
  | 'pending' // waiting to be sent
  | 'syncing'
  | 'created'
  | 'duplicate'
  | 'updated'
  | 'conflict'
  | 'rejected'

export const STATE_LABELS: Record<QueueState, string> = {
  pending: '待上传',
  syncing: '正在上传',
  created: '已上传',
  duplicate: '已上传（服务器已有这条）',
  updated: '已更新',
  conflict: '与服务器记录不一致',
  rejected: '未被接收',
}

export interface QueuedPhoto {
  path: string
  media_id: number | null
}

export interface QueuedVisit {
  client_id: string
  household_id: number
  household_label: string
  visited_at: string
  lat: number | null
  lng: number | null
  accuracy_m: number | null
  at_home: boolean
  notes: string | null
  tags: string[]
  photos: QueuedPhoto[]
  base_version: number | null
  state: QueueState
  attempts: number
  queued_at: string
  last_tried_at: string | null
  /** A sentence for the person: why it waits, what the server said. */
  message: string | null
  server: { id: number; version: number; flagged: boolean; flags: string[] } | null
  conflict: VisitConflict | null
}

export interface CheckInDraft {
  household_id: number
  household_label: string
  at_home: boolean
  notes?: string | null
  tags?: string[]
  lat?: number | null
  lng?: number | null
  accuracy_m?: number | null
  photoPaths?: string[]
  visited_at?: string
}

export const DONE: QueueState[] = ['created', 'duplicate', 'updated']
const BATCH = 200 // the server's limit per sync
const KEEP_DONE = 30
/** Waits before automatic retries after no answer: 5 s, 15 s, 1 min, then every 5 min. */
export const RETRY_DELAYS_MS = [5_000, 15_000, 60_000, 300_000]

const storageKey = (userId: number) => `jinlin.visitQueue.${userId}`

function readStored(userId: number): QueuedVisit[] {
  try {
    const raw = uni.getStorageSync(storageKey(userId)) as unknown
    return Array.isArray(raw) ? (raw as QueuedVisit[]) : []
  } catch {
    return []
  }
}

function toVisitIn(v: QueuedVisit): VisitIn {
  return {
    client_id: v.client_id,
    household_id: v.household_id,
    visited_at: v.visited_at,
    lat: v.lat,
    lng: v.lng,
    accuracy_m: v.accuracy_m,
    at_home: v.at_home,
    notes: v.notes,
    tags: v.tags,
    photo_ids: v.photos.map((p) => p.media_id).filter((id): id is number => id !== null),
    base_version: v.base_version,
  }
}

export const useVisitQueueStore = defineStore('visitQueue', () => {
  const userId = ref<number | null>(null)
  const items = ref<QueuedVisit[]>([])
  const syncing = ref(false)
  const lastSyncAt = ref<string | null>(null)
  let inFlight: Promise<void> | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let failures = 0
  let listening = false

  const waiting = computed(() => items.value.filter((v) => v.state === 'pending' || v.state === 'syncing'))
  const pendingCount = computed(() => waiting.value.length)
  const conflictCount = computed(() => items.value.filter((v) => v.state === 'conflict').length)
  const rejectedCount = computed(() => items.value.filter((v) => v.state === 'rejected').length)

  function save(): void {
    if (userId.value === null) return
    uni.setStorageSync(storageKey(userId.value), items.value)
  }

  /** Load the queue of this user (call when the signed-in user is known). Items left "syncing" by a killed app wait again. */
  function bind(id: number): void {
    if (userId.value === id) return
    userId.value = id
    items.value = readStored(id).map((v) => (v.state === 'syncing' ? { ...v, state: 'pending' as const } : v))
    failures = 0
    listen()
  }

  function listen(): void {
    if (listening) return
    listening = true
    onNetworkChange((online) => {
      if (online && pendingCount.value > 0) void sync()
    })
  }

  function find(clientId: string): QueuedVisit | undefined {
    return items.value.find((v) => v.client_id === clientId)
  }

  /** Record a check-in on the phone (persisted before anything is sent), then try to send it. */
  function record(draft: CheckInDraft): QueuedVisit {
    if (userId.value === null) throw new Error('visit queue used before a user was bound')
    const v: QueuedVisit = {
      client_id: uuidv4(),
      household_id: draft.household_id,
      household_label: draft.household_label,
      visited_at: draft.visited_at ?? isoWithOffset(),
      lat: draft.lat ?? null,
      lng: draft.lng ?? null,
      accuracy_m: draft.accuracy_m ?? null,
      at_home: draft.at_home,
      notes: draft.notes?.trim() || null,
      tags: draft.tags ?? [],
      photos: (draft.photoPaths ?? []).map((path) => ({ path, media_id: null })),
      base_version: null,
      state: 'pending',
      attempts: 0,
      queued_at: isoWithOffset(),
      last_tried_at: null,
      message: null,
      server: null,
      conflict: null,
    }
    items.value.unshift(v)
    prune()
    save()
    return v
  }

  /** Keep the last few finished items for the person to see; never drop one that still needs them. */
  function prune(): void {
    let done = 0
    items.value = items.value.filter((v) => !DONE.includes(v.state) || ++done <= KEEP_DONE)
  }

  /** Upload the photos of these items that have no media id yet; false when the network is away. */
  async function uploadPhotos(batch: QueuedVisit[]): Promise<boolean> {
    for (const v of batch) {
      for (const p of v.photos) {
        if (p.media_id !== null) continue
        try {
          p.media_id = (await uploadPhoto(p.path, { toast: false })).id
          save()
        } catch (err) {
          if (err instanceof NetworkError) return false
          // the file is gone or refused: the visit itself still goes up, and the person is told
          v.photos = v.photos.filter((x) => x !== p)
          v.message = `有一张照片未能上传（${(err as Error).message}），走访记录照常上传`
          save()
        }
      }
    }
    return true
  }

  function apply(result: SyncResult): void {
    const v = find(result.client_id)
    if (!v) return
    v.state = result.outcome
    v.last_tried_at = isoWithOffset()
    v.conflict = result.conflict ?? null
    if (result.visit) {
      v.server = {
        id: result.visit.id,
        version: result.visit.version,
        flagged: result.visit.flagged,
        flags: result.visit.flags.map((f) => f.message),
      }
    }
    if (result.outcome === 'conflict') v.message = result.conflict?.message ?? '与服务器上的记录不一致'
    else if (result.outcome === 'rejected') v.message = result.error?.message ?? '服务器未接收这条记录'
    else if (result.outcome === 'duplicate') v.message = '服务器已经有这条记录，没有重复保存'
    else v.message = v.message?.startsWith('有一张照片') ? v.message : null
  }

  async function send(batch: QueuedVisit[]): Promise<void> {
    const out = await visitsApi.sync({ sent_at: isoWithOffset(), items: batch.map(toVisitIn) })
    out.results.forEach(apply)
  }

  /** One bad item makes the server refuse the whole batch (422): send one by one to find and mark it. */
  async function sendEach(batch: QueuedVisit[]): Promise<void> {
    for (const v of batch) {
      try {
        await send([v])
      } catch (err) {
        if (err instanceof ApiError && err.status === 422) {
          v.state = 'rejected'
          v.message = err.message
          v.last_tried_at = isoWithOffset()
        } else {
          throw err
        }
      }
    }
  }

  async function run(): Promise<void> {
    const batch = items.value.filter((v) => v.state === 'pending')
    if (!batch.length) return
    syncing.value = true
    batch.forEach((v) => {
      v.state = 'syncing'
      v.attempts++
      v.last_tried_at = isoWithOffset()
    })
    save()
    try {
      if (!(await uploadPhotos(batch))) throw new NetworkError()
      for (let i = 0; i < batch.length; i += BATCH) {
        const chunk = batch.slice(i, i + BATCH)
        try {
          await send(chunk)
        } catch (err) {
          if (err instanceof ApiError && err.status === 422) await sendEach(chunk)
          else throw err
        }
      }
      failures = 0
      lastSyncAt.value = isoWithOffset()
    } catch (err) {
      const offline = err instanceof NetworkError
      for (const v of batch) {
        if (v.state !== 'syncing') continue
        v.state = 'pending'
        v.message = offline ? '没有网络，已保存在手机上，有网后自动上传' : `暂时无法上传：${(err as Error).message}`
      }
      scheduleRetry()
    } finally {
      batch.forEach((v) => {
        if (v.state === 'syncing') v.state = 'pending'
      })
      syncing.value = false
      prune()
      save()
    }
  }

  function scheduleRetry(): void {
    if (retryTimer) clearTimeout(retryTimer)
    const wait = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]
    failures++
    retryTimer = setTimeout(() => {
      retryTimer = null
      if (pendingCount.value > 0) void sync()
    }, wait)
  }

  /** Send everything waiting. Concurrent calls share one run; items recorded meanwhile go in the next. */
  function sync(): Promise<void> {
    if (inFlight) {
      return inFlight.then(() => (items.value.some((v) => v.state === 'pending') ? sync() : undefined))
    }
    if (retryTimer) {
      clearTimeout(retryTimer)
      retryTimer = null
    }
    inFlight = run().finally(() => {
      inFlight = null
    })
    return inFlight
  }

  /** A rejected item the person wants to try again (same client id: the server can never store it twice). */
  function retry(clientId: string): Promise<void> {
    const v = find(clientId)
    if (v && (v.state === 'rejected' || v.state === 'pending')) {
      v.state = 'pending'
      v.message = null
      save()
    }
    return sync()
  }

  /**
   * A conflict: keep what the server has (drop the phone's version) or send the phone's version as an edit of the
   * server's (`base_version`). Household, time and place can never be edited (`immutable_changed`).
   */
  function resolveConflict(clientId: string, choice: 'keep_server' | 'overwrite'): Promise<void> {
    const v = find(clientId)
    if (!v || v.state !== 'conflict' || !v.conflict) return Promise.resolve()
    if (choice === 'keep_server') {
      v.state = 'duplicate'
      v.message = '已按服务器上的记录为准'
      v.conflict = null
      save()
      return Promise.resolve()
    }
    if (v.conflict.reason === 'immutable_changed') throw new Error('住户、时间和位置不能修改')
    v.base_version = v.conflict.server_version
    v.state = 'pending'
    v.conflict = null
    v.message = null
    save()
    return sync()
  }

  /** Remove an item the person no longer needs to see (only finished ones). */
  function dismiss(clientId: string): void {
    items.value = items.value.filter((v) => v.client_id !== clientId || !DONE.includes(v.state))
    save()
  }

  /** Is there a check-in for this household still waiting or recorded today (for the plan page)? */
  function latestFor(householdId: number): QueuedVisit | undefined {
    return items.value.find((v) => v.household_id === householdId)
  }

  return {
    userId,
    items,
    syncing,
    lastSyncAt,
    pendingCount,
    conflictCount,
    rejectedCount,
    bind,
    record,
    sync,
    retry,
    resolveConflict,
    dismiss,
    latestFor,
  }
})
