/**
 * Display preferences for older eyes: text size and high contrast, kept on the device.
 * Pages apply them through the <jl-page> wrapper (a CSS variable for the font scale and classes).
 *
 * Text sizes: 标准 (1×), 大字 (1.3×: a 34rpx body text at ~44rpx, the 适老化 guideline's ≥ 18pt) and 特大字 (2×,
 * the "200 % text" the age-friendly checks ask every resident flow to survive). Both enlarged sizes switch pages
 * to one-column layouts (`jl-large-text`); 特大字 adds `jl-xlarge-text` for the few places that need more.
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'

const STORAGE_KEY = 'jinlin.prefs'
export const LARGE_TEXT_SCALE = 1.3
export const XLARGE_TEXT_SCALE = 2
export type TextSize = 'normal' | 'large' | 'xlarge'
const SCALES: Record<TextSize, number> = { normal: 1, large: LARGE_TEXT_SCALE, xlarge: XLARGE_TEXT_SCALE }

interface StoredPrefs {
  largeText?: boolean
  textSize?: TextSize
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
  const textSize = ref<TextSize>(
    stored.textSize && stored.textSize in SCALES ? stored.textSize : stored.largeText === true ? 'large' : 'normal',
  )
  const highContrast = ref(stored.highContrast === true)

  const largeText = computed(() => textSize.value !== 'normal')
  const fontScale = computed(() => SCALES[textSize.value])
  /** Inline style for a page root: every font size in the app is `calc(Nrpx * var(--jl-font-scale))`. */
  const rootStyle = computed(() => `--jl-font-scale: ${fontScale.value};`)
  const rootClass = computed(() => ({
    'jl-large-text': largeText.value,
    'jl-xlarge-text': textSize.value === 'xlarge',
    'jl-high-contrast': highContrast.value,
  }))

  // sync flush: the choice is on disk before the app can be backgrounded and killed
  watch(
    [textSize, highContrast],
    () =>
      uni.setStorageSync(STORAGE_KEY, {
        largeText: largeText.value,
        textSize: textSize.value,
        highContrast: highContrast.value,
      }),
    { flush: 'sync' },
  )

  function toggleLargeText(): void {
    textSize.value = textSize.value === 'normal' ? 'large' : 'normal'
  }

  function setTextSize(size: TextSize): void {
    textSize.value = size
  }

  function toggleHighContrast(): void {
    highContrast.value = !highContrast.value
  }

  return { textSize, largeText, highContrast, fontScale, rootStyle, rootClass, toggleLargeText, setTextSize, toggleHighContrast }
})
