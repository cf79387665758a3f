import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useAuthStore } from '../auth'
import { loadTokens } from '@/http'
import { roleKey } from '@/domain/roles'
import { uniStub } from '@/test/uni-stub'
import type { RoleAssignment } from '@/api/types'

const GRID: RoleAssignment = {
  id: 1,
  role: 'grid_worker',
  role_label: '网格员',
  org_unit_id: 7,
  org_unit_name: '第1网格',
  org_unit_path: '土门墩街道 / 土门墩社区 / 第1网格',
  department_id: null,
  department_name: null,
}
const RESIDENT: RoleAssignment = {
  ...GRID,
  id: 2,
  role: 'resident',
  role_label: '居民',
  org_unit_id: 31,
  org_unit_name: '3号楼 2单元 501',
}

/** A fresh app start: new Pinia, same device storage. */
function restart() {
  setActivePinia(createPinia())
  return useAuthStore()
}

beforeEach(() => {
  setActivePinia(createPinia())
})

describe('auth store', () => {
  it('dev login stores the token pair and loads the user with masked phone and roles', async () => {
    const auth = useAuthStore()
    expect(auth.isLoggedIn).toBe(false)
    await auth.loginWithDevAccount(12)

    expect(auth.isLoggedIn).toBe(true)
    expect(loadTokens()?.access_token).toMatch(/^access-12-/)
    expect(auth.me).toMatchObject({ id: 12, name: '张网格', phone_masked: '138****0000' })
    expect(auth.currentRole?.role).toBe('grid_worker')
    expect(auth.hasSeveralRoles).toBe(false)
    const login = uniStub().backend.requests.find((r) => r.path === '/api/v1/auth/dev-login')!
    expect(login.data).toEqual({ user_id: 12 })
  })

  it('password login surfaces the server message when the password is wrong', async () => {
    const auth = useAuthStore()
    await expect(auth.loginWithPassword('13800000000', 'nope')).rejects.toThrow('手机号或密码不正确')
    expect(auth.isLoggedIn).toBe(false)
    await auth.loginWithPassword('13800000000', 'secret-pass')
    expect(auth.me?.id).toBe(12)
  })

  it('WeChat login sends the uni.login code and reports whether the user is new', async () => {
    const auth = useAuthStore()
    const result = await auth.loginWithWechat()
    expect(result.isNewUser).toBe(false)
    const req = uniStub().backend.requests.find((r) => r.path === '/api/v1/auth/wechat')!
    expect(req.data).toEqual({ code: 'wx-code-ok' })
    expect(auth.me?.name).toBe('张网格')
  })

  it('WeChat login fails cleanly when uni.login gives no code', async () => {
    uniStub().wechatCode = null
    await expect(useAuthStore().loginWithWechat()).rejects.toThrow('微信登录失败')
    expect(uniStub().backend.requests).toHaveLength(0)
  })

  it('switches between several roles and remembers the choice across restarts', async () => {
    uniStub().backend.users.get(12)!.roles = [GRID, RESIDENT]
    const auth = useAuthStore()
    await auth.loginWithDevAccount(12)
    expect(auth.hasSeveralRoles).toBe(true)
    expect(auth.currentRole?.role).toBe('grid_worker') // server order decides the default

    auth.switchRole(roleKey(RESIDENT))
    expect(auth.currentRole?.role).toBe('resident')

    const again = restart()
    expect(await again.restore()).toBe(true)
    expect(again.currentRole?.role).toBe('resident')
    expect(() => again.switchRole('admin@1/-')).toThrow()
    expect(again.currentRole?.role).toBe('resident')
  })

  it('falls back to the first role when the saved one was taken away', async () => {
    uniStub().backend.users.get(12)!.roles = [GRID, RESIDENT]
    const auth = useAuthStore()
    await auth.loginWithDevAccount(12)
    auth.switchRole(roleKey(RESIDENT))
    uniStub().backend.users.get(12)!.roles = [GRID]
    const again = restart()
    await again.restore()
    expect(again.currentRole?.role).toBe('grid_worker')
  })

  it('restore refreshes an expired access token through the http layer', async () => {
    await useAuthStore().loginWithDevAccount(12)
    const before = loadTokens()!
    uniStub().backend.expireAccessTokens()
    const again = restart()
    expect(await again.restore()).toBe(true)
    expect(again.me?.id).toBe(12)
    expect(loadTokens()!.refresh_token).not.toBe(before.refresh_token)
    expect(again.tokens?.refresh_token).toBe(loadTokens()!.refresh_token)
  })

  it('restore reports false and forgets the session when it cannot be renewed', async () => {
    await useAuthStore().loginWithDevAccount(12)
    uniStub().backend.expireAccessTokens()
    uniStub().backend.routes.set('POST /api/v1/auth/refresh', () => ({
      statusCode: 401,
      data: { error: 'InvalidToken', message: '登录已过期，请重新登录', detail: null },
    }))
    const again = restart()
    expect(await again.restore()).toBe(false)
    expect(again.isLoggedIn).toBe(false)
    expect(again.me).toBeNull()
  })

  it('follows the http layer when the session dies mid-use (refresh refused)', async () => {
    const auth = useAuthStore()
    await auth.loginWithDevAccount(12)
    const { backend } = uniStub()
    backend.expireAccessTokens()
    backend.routes.set('POST /api/v1/auth/refresh', () => ({
      statusCode: 401,
      data: { error: 'RefreshTokenReused', message: '登录凭证已被使用，请重新登录', detail: null },
    }))
    await expect(auth.fetchMe()).rejects.toMatchObject({ status: 401 })
    expect(auth.isLoggedIn).toBe(false)
    expect(auth.me).toBeNull()
    expect(auth.currentRole).toBeNull()
  })

  it('logout revokes the refresh token on the server and forgets everything locally', async () => {
    uniStub().backend.users.get(12)!.roles = [GRID, RESIDENT]
    const auth = useAuthStore()
    await auth.loginWithDevAccount(12)
    auth.switchRole(roleKey(RESIDENT))
    const { refresh_token } = loadTokens()!
    await auth.logout()

    expect(auth.isLoggedIn).toBe(false)
    expect(auth.me).toBeNull()
    expect(loadTokens()).toBeNull()
    const req = uniStub().backend.requests.find((r) => r.path === '/api/v1/auth/logout')!
    expect(req.data).toEqual({ refresh_token })
    // the next person on this phone starts from the server's default role
    await restart().loginWithDevAccount(12)
    expect(useAuthStore().currentRole?.role).toBe('grid_worker')
  })

  it('logout still forgets the session when the server cannot be reached', async () => {
    const auth = useAuthStore()
    await auth.loginWithDevAccount(12)
    uniStub().backend.fault = (req) => (req.path === '/api/v1/auth/logout' ? 'network' : undefined)
    await auth.logout()
    expect(auth.isLoggedIn).toBe(false)
    expect(loadTokens()).toBeNull()
  })

  it('opens with no signal using the last profile of this session, but not after a logout', async () => {
    await useAuthStore().loginWithDevAccount(12)
    uniStub().backend.fault = () => 'network'
    const offline = restart()
    expect(await offline.restore()).toBe(true)
    expect(offline.me?.name).toBe('张网格')

    uniStub().backend.fault = () => undefined
    await offline.logout()
    uniStub().backend.fault = () => 'network'
    expect(await restart().restore()).toBe(false)
  })

  it('does not fall back to the cached profile when the server refuses the session', async () => {
    await useAuthStore().loginWithDevAccount(12)
    const { backend } = uniStub()
    backend.expireAccessTokens()
    backend.routes.set('POST /api/v1/auth/refresh', () => ({ statusCode: 401, data: { error: 'InvalidToken', message: '登录已过期' } }))
    expect(await restart().restore()).toBe(false)
    expect(uniStub().storage.has('jinlin.me')).toBe(false)
  })
})
