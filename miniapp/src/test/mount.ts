/**
 * Mount a component into jsdom with plain Vue (uni tags are custom elements in unit tests), holding its props in a
 * reactive object so `v-model` round-trips like on a page: an `update:modelValue` event writes `props.modelValue`.
 */
import { createPinia } from 'pinia'
import { createApp, h, nextTick, reactive, type Component } from 'vue'

export function mount<P extends Record<string, unknown>>(component: Component, initial: P) {
  const props = reactive({ ...initial }) as P
  const emitted: { event: string; args: unknown[] }[] = []
  const el = document.createElement('div')
  document.body.appendChild(el)
  const app = createApp({
    render: () =>
      h(component, {
        ...props,
        'onUpdate:modelValue': (v: unknown) => {
          emitted.push({ event: 'update:modelValue', args: [v] })
          ;(props as Record<string, unknown>).modelValue = v
        },
        onBusy: (v: unknown) => emitted.push({ event: 'busy', args: [v] }),
      }),
  })
  app.use(createPinia())
  app.mount(el)
  return {
    el,
    props,
    emitted,
    /** Click the element with this id (or the first matching selector) and let Vue re-render. */
    async tap(selector: string) {
      const target = el.querySelector(selector.startsWith('#') || selector.startsWith('.') ? selector : `#${selector}`)
      if (!target) throw new Error(`nothing matches ${selector}`)
      ;(target as HTMLElement).click()
      await nextTick()
    },
    text: () => el.textContent ?? '',
    unmount: () => {
      app.unmount()
      el.remove()
    },
  }
}
