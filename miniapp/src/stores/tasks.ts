/**
 * The volunteer's side of 服务快递站: my profile (registered? approved?), the task hall (offers made to me, with
 * distance), the tasks I hold, and accepting one. Accepting is a race the backend settles with a conditional
 * UPDATE: the loser gets 409 `TaskAlreadyClaimed`. That is not an error for the person, so `accept` returns an
 * outcome the page words kindly instead of throwing (and the http layer does not toast it).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as tasksApi from '@/api/tasks'
import * as volunteersApi from '@/api/volunteers'
import type { InboxItem, Task, VolunteerProfile } from '@/api/types'
import { ApiError } from '@/http'
import { useInboxStore } from './inbox'

export type AcceptOutcome =
  | { ok: true; task: Task }
  | { ok: false; reason: 'taken' | 'busy' | 'not_volunteer' | 'error'; message: string }

/** Codes that mean "someone else has it / it is no longer yours to take": say so, remove it from the hall. */
const GONE = new Set(['TaskAlreadyClaimed', 'OfferWithdrawn', 'TaskCancelled', 'TaskNotFound'])
export const TAKEN_MESSAGE = '手慢了，这个任务已被其他志愿者接单，感谢您的热心！'

export const useTasksStore = defineStore('tasks', () => {
  /** undefined: not asked yet; null: not registered as a volunteer. */
  const profile = ref<VolunteerProfile | null | undefined>(undefined)
  const hall = ref<Task[]>([])
  const assigned = ref<Task[]>([])
  const hallLoaded = ref(false)
  /** Tasks that were in my hall and went to someone else while I looked (id → message). */
  const goneNotes = ref<Record<number, string>>({})
  let unsubscribe: (() => void)[] = []

  const isActive = computed(() => profile.value?.status === 'active')

  async function loadProfile(): Promise<VolunteerProfile | null> {
    try {
      profile.value = await volunteersApi.myProfile()
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VolunteerNotFound') profile.value = null
      else throw err
    }
    return profile.value
  }

  async function loadHall(at?: { lat: number; lng: number } | null): Promise<void> {
    hall.value = await tasksApi.hall(at)
    hallLoaded.value = true
  }

  async function loadAssigned(): Promise<void> {
    assigned.value = await tasksApi.assigned()
  }

  async function accept(id: number): Promise<AcceptOutcome> {
    try {
      const task = await tasksApi.accept(id)
      hall.value = hall.value.filter((t) => t.id !== id)
      assigned.value = [task, ...assigned.value.filter((t) => t.id !== id)]
      return { ok: true, task }
    } catch (err) {
      if (err instanceof ApiError && GONE.has(err.code)) {
        hall.value = hall.value.filter((t) => t.id !== id)
        const message = err.code === 'TaskAlreadyClaimed' ? err.message || TAKEN_MESSAGE : TAKEN_MESSAGE
        goneNotes.value = { ...goneNotes.value, [id]: message }
        return { ok: false, reason: 'taken', message }
      }
      if (err instanceof ApiError && err.code === 'TooManyActiveTasks') {
        return { ok: false, reason: 'busy', message: err.message }
      }
      if (err instanceof ApiError && err.code === 'NotAnActiveVolunteer') {
        return { ok: false, reason: 'not_volunteer', message: err.message }
      }
      return { ok: false, reason: 'error', message: (err as Error).message || '接单没有成功，请再试一次' }
    }
  }

  function replace(task: Task): void {
    assigned.value = assigned.value.map((t) => (t.id === task.id ? task : t))
    if (['confirmed', 'cancelled', 'offered'].includes(task.status) && task.volunteer_id === null) {
      assigned.value = assigned.value.filter((t) => t.id !== task.id)
    }
  }

  /** Live: a new offer refreshes the hall; an offer withdrawn (someone else accepted) leaves it with a note. */
  function subscribe(at: () => { lat: number; lng: number } | null): void {
    if (unsubscribe.length) return
    const inbox = useInboxStore()
    unsubscribe = [
      inbox.onKind('tasks.offer', () => void loadHall(at()).catch(() => undefined)),
      inbox.onKind('tasks.withdrawn', (item: InboxItem) => {
        const id = Number((item.data as { task_id?: unknown }).task_id)
        if (!hall.value.some((t) => t.id === id)) return
        hall.value = hall.value.filter((t) => t.id !== id)
        goneNotes.value = { ...goneNotes.value, [id]: TAKEN_MESSAGE }
      }),
    ]
  }

  function unsubscribeAll(): void {
    unsubscribe.forEach((fn) => fn())
    unsubscribe = []
  }

  return { profile, hall, assigned, hallLoaded, goneNotes, isActive, loadProfile, loadHall, loadAssigned, accept, replace, subscribe, unsubscribeAll }
})
