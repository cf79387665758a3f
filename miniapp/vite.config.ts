import { defineConfig, loadEnv } from 'vite'
import uniPlugin from '@dcloudio/vite-plugin-uni'

// @dcloudio/vite-plugin-uni is CommonJS; depending on how the config is bundled the
// plugin factory arrives either as the default export or as `.default` of it.
const uni = ((uniPlugin as unknown as { default?: typeof uniPlugin }).default ?? uniPlugin) as typeof uniPlugin

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  // `npm run dev:h5` proxies /api and /healthz to a locally running backend (same-origin in production).
  const backend = env.JINLIN_DEV_BACKEND || 'http://127.0.0.1:8000'
  return {
    plugins: [uni()],
    server: {
      proxy: {
        '/api': { target: backend, changeOrigin: false, ws: true },
        '/healthz': { target: backend },
      },
    },
  }
})
