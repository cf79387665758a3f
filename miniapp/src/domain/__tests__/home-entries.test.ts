import { describe, expect, it } from 'vitest'
import pagesJson from '@/pages.json'
import { HOME_ENTRIES, entriesFor } from '../home-entries'
import { ROLE_LABELS, roleKey, roleTitle } from '../roles'
import { HOME_PAGE, LOGIN_PAGE, ME_PAGE } from '@/router'

const pagePaths = new Set(pagesJson.pages.map((p: { path: string }) => `/${p.path}`))

describe('home entries', () => {
  it('has tiles for every role the backend knows', () => {
    expect(Object.keys(HOME_ENTRIES).sort()).toEqual(Object.keys(ROLE_LABELS).sort())
    for (const entries of Object.values(HOME_ENTRIES)) expect(entries.length).toBeGreaterThan(0)
  })

  it('only opens pages that exist; everything else is marked as not ready', () => {
    for (const entries of Object.values(HOME_ENTRIES)) {
      for (const e of entries) {
        if (e.ready) expect(pagePaths).toContain(e.url)
        else expect(e.url).toBeUndefined()
      }
    }
  })

  it('route constants match pages.json', () => {
    for (const p of [LOGIN_PAGE, HOME_PAGE, ME_PAGE]) expect(pagePaths).toContain(p)
    expect(`/${pagesJson.pages[0].path}`).toBe(LOGIN_PAGE) // the entry page is the login page
  })

  it('grid workers get their grid inbox; unknown roles still get 我的', () => {
    expect(entriesFor('grid_worker').map((e) => e.title)).toContain('网格待办')
    expect(entriesFor('no_such_role').map((e) => e.id)).toEqual(['me'])
  })
})

describe('roles', () => {
  const grid = {
    role: 'grid_worker' as const,
    org_unit_id: 7,
    org_unit_name: '第1网格',
    org_unit_path: '土门墩街道 / 土门墩社区 / 第1网格',
    department_id: null,
    department_name: null,
  }

  it('titles a role with where it applies', () => {
    expect(roleTitle(grid)).toBe('网格员 · 第1网格')
    expect(roleTitle({ ...grid, role: 'department_staff', department_id: 3, department_name: '城管局' })).toBe(
      '部门工作人员 · 城管局',
    )
  })

  it('tells apart the same role in two grids', () => {
    expect(roleKey(grid)).not.toBe(roleKey({ ...grid, org_unit_id: 8 }))
  })
})
