import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { LARGE_TEXT_SCALE, XLARGE_TEXT_SCALE, usePrefsStore } from '../prefs'
import { uniStub } from '@/test/uni-stub'

function restart() {
  setActivePinia(createPinia())
  return usePrefsStore()
}

beforeEach(() => {
  setActivePinia(createPinia())
})

describe('prefs store', () => {
  it('starts in normal text, normal contrast', () => {
    const prefs = usePrefsStore()
    expect(prefs.largeText).toBe(false)
    expect(prefs.fontScale).toBe(1)
    expect(prefs.rootStyle).toBe('--jl-font-scale: 1;')
    expect(prefs.rootClass).toEqual({ 'jl-large-text': false, 'jl-xlarge-text': false, 'jl-high-contrast': false })
  })

  it('large text scales the font and survives a restart', () => {
    usePrefsStore().toggleLargeText()
    const prefs = restart()
    expect(prefs.largeText).toBe(true)
    expect(prefs.fontScale).toBe(LARGE_TEXT_SCALE)
    expect(LARGE_TEXT_SCALE).toBeGreaterThanOrEqual(1.25)
    expect(prefs.rootStyle).toBe(`--jl-font-scale: ${LARGE_TEXT_SCALE};`)
    expect(prefs.rootClass['jl-large-text']).toBe(true)
    prefs.toggleLargeText()
    expect(restart().largeText).toBe(false)
  })

  it('high contrast is independent of large text and persisted', () => {
    usePrefsStore().toggleHighContrast()
    const prefs = restart()
    expect(prefs.highContrast).toBe(true)
    expect(prefs.largeText).toBe(false)
    expect(prefs.rootClass).toEqual({ 'jl-large-text': false, 'jl-xlarge-text': false, 'jl-high-contrast': true })
  })

  it('特大字 doubles the text, keeps the one-column layout, and survives a restart', () => {
    usePrefsStore().setTextSize('xlarge')
    const prefs = restart()
    expect(prefs.textSize).toBe('xlarge')
    expect(prefs.fontScale).toBe(XLARGE_TEXT_SCALE)
    expect(XLARGE_TEXT_SCALE).toBe(2)
    expect(prefs.largeText).toBe(true)
    expect(prefs.rootClass).toMatchObject({ 'jl-large-text': true, 'jl-xlarge-text': true })
    prefs.toggleLargeText() // the large-text switch turns any enlarged size off
    expect(restart().textSize).toBe('normal')
  })

  it('reads the setting an older version stored (largeText only)', () => {
    uniStub().storage.set('jinlin.prefs', { largeText: true, highContrast: false })
    expect(restart().textSize).toBe('large')
  })
})
