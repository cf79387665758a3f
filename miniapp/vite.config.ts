import { defineConfig, loadEnv, type Plugin } from 'vite'
import uniPlugin from '@dcloudio/vite-plugin-uni'

// @dcloudio/vite-plugin-uni is CommonJS; depending on how the config is bundled the
// plugin factory arrives either as the default export or as `.default` of it.
const uni = ((uniPlugin as unknown as { default?: typeof uniPlugin }).default ?? uniPlugin) as typeof uniPlugin

/**
 * uni's mp-weixin runtime preloads an image from the framework vendor's CDN (cdn1.dcloud.net.cn) three
 * seconds after every launch: a third-party request that leaks each user's IP and launch time. Drop the
 * call. If a uni upgrade changes that code the build fails here, so the request cannot come back silently.
 */
function noVendorCdnPreload(): Plugin {
  return {
    name: 'jinlin:no-vendor-cdn-preload',
    enforce: 'pre',
    transform(code, id) {
      if (!/@dcloudio[\\/]uni-mp-weixin[\\/]dist[\\/]uni\.mp\.esm\.js$/.test(id)) return null
      const call = /\n(\s*)preloadAsset\(\);/
      if (!call.test(code)) {
        this.error('uni-mp-weixin no longer calls preloadAsset() where expected: re-check its CDN preload (vite.config.ts)')
      }
      return { code: code.replace(call, '\n$1/* jinlin: vendor CDN preload removed */'), map: null }
    },
  }
}

/**
 * The H5 framework CSS does the same: a `shadow-preload` animation fetches a shadow image from the vendor CDN three
 * seconds after the page loads (and the unused navigation-bar shadow classes point there too). Drop those URLs
 * after uni's own CSS plugin has added them; the browser tests assert that no request leaves the app's origin.
 */
function noVendorCdnShadow(): Plugin {
  const vendor = /url\((['"]?)https?:\/\/cdn\d*\.dcloud\.net\.cn\/[^)]*\)/g
  return {
    name: 'jinlin:no-vendor-cdn-shadow',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type === 'asset' && file.fileName.endsWith('.css') && typeof file.source === 'string') {
          file.source = file.source.replace(vendor, 'none')
        }
      }
    },
  }
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  if (process.env.UNI_PLATFORM === 'mp-weixin' && mode === 'production' && !env.VITE_API_BASE) {
    console.warn(
      '\n[jinlin] VITE_API_BASE is not set: this mp-weixin build has no API address and every request will fail.\n' +
        '         Set it (e.g. VITE_API_BASE=https://jinlin.example.org npm run build:mp-weixin) for a real release.\n',
    )
  }
  // `npm run dev:h5` proxies /api and /healthz to a locally running backend (same-origin in production).
  const backend = env.JINLIN_DEV_BACKEND || 'http://127.0.0.1:8000'
  return {
    plugins: [noVendorCdnPreload(), uni(), noVendorCdnShadow()],
    server: {
      proxy: {
        '/api': { target: backend, changeOrigin: false, ws: true },
        '/healthz': { target: backend },
      },
    },
  }
})
