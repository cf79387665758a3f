/** /api/v1/volunteers: my volunteer profile (real-name registration), pairings and activities. */
import { http } from '@/http'
import type { Activity, Pairing, RegistrationIn, VolunteerProfile } from './types'

const V = '/api/v1/volunteers'

/** 404 `VolunteerNotFound` means "not registered yet": the page offers registration, so no toast. */
export const myProfile = () => http.get<VolunteerProfile>(`${V}/me`, undefined, { toast: false })
export const register = (body: RegistrationIn) => http.post<VolunteerProfile>(`${V}/me`, body)
export const myPairings = () => http.get<Pairing[]>(`${V}/me/pairings`)
export const myActivities = () => http.get<Activity[]>(`${V}/activities/mine`)
