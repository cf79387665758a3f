/**
 * Who is signed in: the token pair (persisted by src/http), the current user from GET /api/v1/me,
 * their role assignments, and which one they are acting as now (persisted, switchable).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as authApi from '@/api/auth'
import { getMe } from '@/api/me'
import type { Me, RoleAssignment, TokenPair } from '@/api/types'
import { NetworkError, clearTokens, loadTokens, onTokensChanged, saveTokens } from '@/http'
import { roleKey } from '@/domain/roles'

const SELECTED_ROLE_KEY = 'jinlin.selectedRole'
/** The last /me answer, so a signed-in person can open the app with no signal (offline visits). */
const ME_KEY = 'jinlin.me'

function readCachedMe(): Me | null {
  try {
    const v = uni.getStorageSync(ME_KEY) as unknown
    return v && typeof v === 'object' && 'id' in v ? (v as Me) : null
  } catch {
    return null
  }
}

function readSelectedRole(): string | null {
  try {
    const v = uni.getStorageSync(SELECTED_ROLE_KEY) as unknown
    return typeof v === 'string' && v ? v : null
  } catch {
    return null
  }
}

/** uni.login wrapped: resolves to the one-time code WeChat gives the mini-program. */
function wechatCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    uni.login({
      provider: 'weixin',
      success: (res) => (res.code ? resolve(res.code) : reject(new Error('微信登录失败：没有拿到 code'))),
      fail: (err) => reject(new Error(`微信登录失败：${err.errMsg ?? ''}`)),
    })
  })
}

export const useAuthStore = defineStore('auth', () => {
  const tokens = ref<TokenPair | Pick<TokenPair, 'access_token' | 'refresh_token'> | null>(loadTokens())
  const me = ref<Me | null>(null)
  const selectedRoleKey = ref<string | null>(readSelectedRole())

  // The http layer rotates tokens on refresh and clears them when the session dies: mirror that.
  onTokensChanged((t) => {
    tokens.value = t
    if (!t) {
      me.value = null
      uni.removeStorageSync(ME_KEY)
    }
  })

  const isLoggedIn = computed(() => tokens.value !== null)
  const roles = computed<RoleAssignment[]>(() => me.value?.roles ?? [])
  const hasSeveralRoles = computed(() => roles.value.length > 1)
  /** The role the user acts as: their saved choice if they still hold it, else the server's first role. */
  const currentRole = computed<RoleAssignment | null>(() => {
    const list = roles.value
    return list.find((r) => roleKey(r) === selectedRoleKey.value) ?? list[0] ?? null
  })

  async function fetchMe(): Promise<Me> {
    me.value = await getMe()
    uni.setStorageSync(ME_KEY, me.value)
    return me.value
  }

  async function startSession(pair: TokenPair): Promise<Me> {
    saveTokens(pair)
    return fetchMe()
  }

  const loginWithDevAccount = async (userId: number) => startSession(await authApi.devLogin(userId))
  const loginWithPassword = async (phone: string, password: string) =>
    startSession(await authApi.passwordLogin(phone, password))

  async function loginWithWechat(): Promise<{ me: Me; isNewUser: boolean }> {
    const result = await authApi.wechatLogin(await wechatCode())
    return { me: await startSession(result), isNewUser: result.is_new_user }
  }

  /**
   * On app start: a stored session is trusted once /me answers (refreshing the token if needed). With no signal
   * at all the last /me of this session is used, so field work goes on offline; any answer from the server
   * (401 after a failed refresh, 403…) ends it as before.
   */
  async function restore(): Promise<boolean> {
    if (!loadTokens()) return false
    try {
      await fetchMe()
      return true
    } catch (err) {
      const cached = err instanceof NetworkError ? readCachedMe() : null
      if (cached && loadTokens()) {
        me.value = cached
        return true
      }
      return false
    }
  }

  /** For pages behind login: true when a user is loaded or can be (guards call this in onShow). */
  async function ensureSession(): Promise<boolean> {
    return me.value !== null || restore()
  }

  function switchRole(key: string): void {
    if (!roles.value.some((r) => roleKey(r) === key)) throw new Error(`没有这个身份：${key}`)
    selectedRoleKey.value = key
    uni.setStorageSync(SELECTED_ROLE_KEY, key)
  }

  /** Ends the session on the server when reachable; the device forgets it either way. */
  async function logout(): Promise<void> {
    const current = loadTokens()
    clearTokens()
    me.value = null
    uni.removeStorageSync(ME_KEY)
    // the next person on this phone should not inherit the last one's role choice
    selectedRoleKey.value = null
    uni.removeStorageSync(SELECTED_ROLE_KEY)
    if (current) {
      try {
        await authApi.logout(current.refresh_token)
      } catch {
        // offline or already revoked: the refresh token expires on its own, nothing left on the device
      }
    }
  }

  return {
    tokens,
    me,
    selectedRoleKey,
    isLoggedIn,
    roles,
    hasSeveralRoles,
    currentRole,
    fetchMe,
    loginWithDevAccount,
    loginWithPassword,
    loginWithWechat,
    restore,
    ensureSession,
    switchRole,
    logout,
  }
})
