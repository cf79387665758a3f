/** /api/v1/me: the signed-in user, their roles and household. */
import { http } from '@/http'
import type { Me } from './types'

export const getMe = () => http.get<Me>('/api/v1/me')
