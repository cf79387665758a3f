import { describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { Category } from '@/api/types'
import { rateBars } from '@/domain/charts'
import type { PickedPhoto } from '@/domain/photos'
import { errorBody } from '@/test/fake-backend'
import { mount } from '@/test/mount'
import { uniStub } from '@/test/uni-stub'
import { saveTokens } from '@/http'
import JlBarChart from '../jl-bar-chart/jl-bar-chart.vue'
import JlCategoryPicker from '../jl-category-picker/jl-category-picker.vue'
import JlPhotoPicker from '../jl-photo-picker/jl-photo-picker.vue'
import JlStars from '../jl-stars/jl-stars.vue'
import JlTaskSteps from '../jl-task-steps/jl-task-steps.vue'

const CATEGORIES: Category[] = [
  {
    code: 'facilities', name: '市政设施', default_level: 'grid',
    children: [
      { code: 'facilities.road', name: '道路破损', default_level: 'grid' },
      { code: 'facilities.streetlight', name: '路灯不亮', default_level: 'grid' },
    ],
  },
  { code: 'sanitation', name: '环境卫生', default_level: 'grid', children: [{ code: 'sanitation.garbage', name: '垃圾清运不及时', default_level: 'grid' }] },
]

describe('<jl-stars>', () => {
  it('is five labelled buttons; tapping one chooses it and says so in words and with ✓', async () => {
    const m = mount(JlStars, { modelValue: null as number | null, idPrefix: 'rate' })
    expect(m.el.querySelectorAll('button')).toHaveLength(5)
    expect(m.text()).toContain('1分 很不满意')
    expect(m.text()).toContain('5分 很满意')
    await m.tap('#rate-4')
    expect(m.props.modelValue).toBe(4)
    expect(m.el.querySelector('#rate-4')!.getAttribute('aria-checked')).toBe('true')
    expect(m.el.querySelector('#rate-4')!.textContent).toContain('✓')
    expect(m.el.querySelector('#rate-5')!.getAttribute('aria-checked')).toBe('false')
    m.unmount()
  })
})

describe('<jl-category-picker>', () => {
  it('chooses in two taps, and "重新选大类" clears the choice', async () => {
    const m = mount(JlCategoryPicker, { categories: CATEGORIES, modelValue: null as string | null })
    expect(m.text()).toContain('市政设施')
    expect(m.text()).not.toContain('路灯不亮')
    await m.tap('#cat-facilities')
    expect(m.text()).toContain('路灯不亮')
    expect(m.props.modelValue).toBeNull() // a top category alone is not a choice
    await m.tap('#cat-facilities-streetlight')
    expect(m.props.modelValue).toBe('facilities.streetlight')
    expect(m.el.querySelector('#cat-facilities-streetlight')!.textContent).toContain('✓')
    await m.tap('#cat-back')
    expect(m.props.modelValue).toBeNull()
    expect(m.text()).toContain('环境卫生')
    m.unmount()
  })

  it('opens on the category of an existing choice', () => {
    const m = mount(JlCategoryPicker, { categories: CATEGORIES, modelValue: 'sanitation.garbage' })
    expect(m.text()).toContain('环境卫生：请选具体问题')
    m.unmount()
  })
})

describe('<jl-photo-picker>', () => {
  function signedIn() {
    saveTokens(uniStub().backend.issue(12).data as { access_token: string; refresh_token: string })
  }

  it('uploads what was chosen and hands over media ids with their signed URLs', async () => {
    signedIn()
    const { backend } = uniStub()
    uniStub().chosenImages = ['blob:a', 'blob:b']
    let n = 0
    backend.routes.set('POST /api/v1/media', () => ({ statusCode: 201, data: { id: ++n, url: `/api/v1/media/${n}/content?sig=x` } }))
    const m = mount(JlPhotoPicker, { modelValue: [] as PickedPhoto[], max: 3 })
    expect(m.text()).toContain('还能加 3 张')
    await m.tap('#photo-pick')
    await vi.waitFor(() => expect(m.props.modelValue).toHaveLength(2))
    expect(m.props.modelValue).toEqual([
      { path: 'blob:a', id: 1, url: '/api/v1/media/1/content?sig=x' },
      { path: 'blob:b', id: 2, url: '/api/v1/media/2/content?sig=x' },
    ])
    await nextTick()
    expect(m.text()).toContain('还能加 1 张')
    expect(m.emitted.filter((e) => e.event === 'busy').map((e) => e.args[0])).toEqual([true, false])
    await m.tap('.jl-photo-picker__item button')
    expect(m.props.modelValue.map((p) => p.id)).toEqual([2])
    m.unmount()
  })

  it('keeps the photos that went up and says which did not', async () => {
    signedIn()
    const { backend } = uniStub()
    uniStub().chosenImages = ['blob:ok', 'blob:big']
    backend.routes.set('POST /api/v1/media', (req) =>
      (req.data as { filePath: string }).filePath === 'blob:big'
        ? { statusCode: 413, data: errorBody('PhotoTooLarge', '照片不能超过 10 MB') }
        : { statusCode: 201, data: { id: 7, url: '/m/7' } },
    )
    const m = mount(JlPhotoPicker, { modelValue: [] as PickedPhoto[] })
    await m.tap('#photo-pick')
    await vi.waitFor(() => expect(m.text()).toContain('照片不能超过 10 MB'))
    expect(m.props.modelValue.map((p) => p.id)).toEqual([7])
    m.unmount()
  })

  it('with defer-upload (offline visits) keeps local paths and uploads nothing', async () => {
    uniStub().chosenImages = ['wxfile://tmp/1.jpg']
    const m = mount(JlPhotoPicker, { modelValue: [] as PickedPhoto[], deferUpload: true })
    await m.tap('#photo-pick')
    await vi.waitFor(() => expect(m.props.modelValue).toHaveLength(1))
    expect(m.props.modelValue[0]).toEqual({ path: 'wxfile://tmp/1.jpg', id: null, url: null })
    expect(uniStub().backend.requests).toHaveLength(0)
    m.unmount()
  })

  it('does nothing when the person cancels the picker', async () => {
    uniStub().chosenImages = null
    const m = mount(JlPhotoPicker, { modelValue: [] as PickedPhoto[] })
    await m.tap('#photo-pick')
    await new Promise((r) => setTimeout(r, 5))
    expect(m.emitted).toEqual([])
    m.unmount()
  })
})

describe('<jl-bar-chart> and <jl-task-steps>', () => {
  it('draws each bar as wide as its rate and writes the number out', () => {
    const m = mount(JlBarChart, { bars: rateBars([{ label: '第1网格', value: 62.5 }, { label: '第2网格', value: null }]) })
    const fills = Array.from(m.el.querySelectorAll('.jl-bars__fill')) as HTMLElement[]
    expect(fills.map((f) => f.style.width)).toEqual(['62.5%', '0%'])
    expect(m.text()).toContain('62.5%')
    expect(m.text()).toContain('暂无')
    m.unmount()
  })

  it('marks the steps a delivery has passed', () => {
    const m = mount(JlTaskSteps, { kind: 'delivery', status: 'picked_up' })
    const done = Array.from(m.el.querySelectorAll('.jl-steps__step--done')).map((e) => e.textContent?.replace(/\s/g, ''))
    expect(done).toEqual(['✓已接单', '✓已取货'])
    expect(m.text()).toContain('居民确认')
    m.unmount()
  })
})
