/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface ImportMetaEnv {
  /**
   * API origin for the mp-weixin build, e.g. `https://jinlin.example.org` (no trailing slash, no /api).
   * Ignored on H5, which always calls its own origin.
   */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
