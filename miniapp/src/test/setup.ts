import { beforeEach } from 'vitest'
import { resetNetworkListeners } from '@/device/network'
import { http } from '@/http'
import { installUniStub } from './uni-stub'

// The app-wide client keeps its production behaviour; only the backoff waits are shortened.
http.config.retryDelaysMs = [1, 1]

beforeEach(() => {
  installUniStub()
  resetNetworkListeners()
})
