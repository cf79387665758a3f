import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// Unit tests run without the uni compiler: plain Vue, uni/wot tags as custom elements,
// and a stubbed `uni` global (src/test/setup.ts) backed by an in-memory fake backend.
const UNI_TAGS = new Set(['view', 'text', 'button', 'input', 'image', 'scroll-view', 'navigator', 'page-meta', 'form', 'textarea'])

export default defineConfig({
  plugins: [
    vue({
      template: {
        compilerOptions: { isCustomElement: (tag) => UNI_TAGS.has(tag) || tag.startsWith('wd-') || tag.startsWith('uni-') },
      },
    }),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  define: { 'process.env.UNI_PLATFORM': JSON.stringify('h5') },
  test: {
    environment: 'jsdom',
    include: ['src/**/__tests__/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
})
