/**
 * Template types for the components pages use. wot-design-uni ships `wot-design-uni/global` for all of
 * its components, but that drags every component's source into vue-tsc, and several of them fail our
 * `noUnusedLocals`; so list the ones we use. Add a line when a page starts using another wd-* component.
 */
declare module 'vue' {
  export interface GlobalComponents {
    JlPage: typeof import('../components/jl-page/jl-page.vue')['default']
    WdCell: typeof import('wot-design-uni/components/wd-cell/wd-cell.vue')['default']
    WdCellGroup: typeof import('wot-design-uni/components/wd-cell-group/wd-cell-group.vue')['default']
  }
}

export {}
