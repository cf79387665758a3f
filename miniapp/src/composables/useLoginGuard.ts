import { onShow } from '@dcloudio/uni-app'
import { LOGIN_PAGE } from '@/router'
import { useAuthStore } from '@/stores/auth'

/** Pages behind login call this in setup: no session (or one that cannot be renewed) → login page. */
export function useLoginGuard(): void {
  const auth = useAuthStore()
  onShow(async () => {
    if (!(await auth.ensureSession())) uni.reLaunch({ url: LOGIN_PAGE })
  })
}
