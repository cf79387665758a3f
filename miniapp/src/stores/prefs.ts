/**
 * Display preferences for older eyes: large text and high contrast, kept on the device.
 * Pages apply them through the <jl-page> wrapper (a CSS variable for the font scale and a class).
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'

const STORAGE_KEY = 'jinlin.prefs'
/** 1.3 keeps a 34rpx body text at ~44rpx: the large-print size the 适老化 guideline asks for (≥ 18pt). */
export const LARGE_TEXT_SCALE = 1.3

interface StoredPrefs {
  largeText?: boolean
  highContrast?: boolean
}

function read(): StoredPrefs {
  try {
    const raw = uni.getStorageSync(STORAGE_KEY) as unknown
    return raw && typeof raw === 'object' ? (raw as StoredPrefs) : {}
  } catch {
    return {}
  }
}

export const usePrefsStore = defineStore('prefs', () => {
  const stored = read()
  const largeText = ref(stored.largeText === true)
  const highContrast = ref(stored.highContrast === true)

  const fontScale = computed(() => (largeText.value ? LARGE_TEXT_SCALE : 1))
  /** Inline style for a page root: every font size in the app is `calc(Nrpx * var(--jl-font-scale))`. */
  const rootStyle = computed(() => `--jl-font-scale: ${fontScale.value};`)
  const rootClass = computed(() => ({ 'jl-large-text': largeText.value, 'jl-high-contrast': highContrast.value }))

  // sync flush: the choice is on disk before the app can be backgrounded and killed
  watch(
    [largeText, highContrast],
    () => uni.setStorageSync(STORAGE_KEY, { largeText: largeText.value, highContrast: highContrast.value }),
    { flush: 'sync' },
  )

  function toggleLargeText(): void {
    largeText.value = !largeText.value
  }

  function toggleHighContrast(): void {
    highContrast.value = !highContrast.value
  }

  return { largeText, highContrast, fontScale, rootStyle, rootClass, toggleLargeText, toggleHighContrast }
})
