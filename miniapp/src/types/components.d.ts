/**
 * Template types for the components pages use. wot-design-uni ships `wot-design-uni/global` for all of
 * its components, but that drags every component's source into vue-tsc, and several of them fail our
 * `noUnusedLocals`; so list the ones we use. Add a line when a page starts using another wd-* component.
 */
declare module 'vue' {
  export interface GlobalComponents {
    JlPage: typeof import('../components/jl-page/jl-page.vue')['default']
    JlStars: typeof import('../components/jl-stars/jl-stars.vue')['default']
    JlStatus: typeof import('../components/jl-status/jl-status.vue')['default']
    JlCategoryPicker: typeof import('../components/jl-category-picker/jl-category-picker.vue')['default']
    JlPhotoPicker: typeof import('../components/jl-photo-picker/jl-photo-picker.vue')['default']
    JlTimeline: typeof import('../components/jl-timeline/jl-timeline.vue')['default']
    JlBarChart: typeof import('../components/jl-bar-chart/jl-bar-chart.vue')['default']
    JlLineChart: typeof import('../components/jl-line-chart/jl-line-chart.vue')['default']
    JlBuildingPicker: typeof import('../components/jl-building-picker/jl-building-picker.vue')['default']
    JlTaskSteps: typeof import('../components/jl-task-steps/jl-task-steps.vue')['default']
    WdCell: typeof import('wot-design-uni/components/wd-cell/wd-cell.vue')['default']
    WdCellGroup: typeof import('wot-design-uni/components/wd-cell-group/wd-cell-group.vue')['default']
  }
}

export {}
