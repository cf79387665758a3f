import { onShow } from '@dcloudio/uni-app'
import { startRealtime } from '@/realtime'
import { LOGIN_PAGE } from '@/router'
import { useAuthStore } from '@/stores/auth'

/**
 * For pages behind login: on every show, make sure there is a session (else the login page), keep the realtime
 * socket running, then run `ready` (load the page's data). Replaces useLoginGuard on pages that load data.
 */
export function useSignedIn(ready: () => void | Promise<void>): void {
  const auth = useAuthStore()
  onShow(async () => {
    if (!(await auth.ensureSession())) {
      uni.reLaunch({ url: LOGIN_PAGE })
      return
    }
    void startRealtime()
    try {
      await ready()
    } catch {
      // the http layer already told the person (toast); the page shows what it has
    }
  })
}
