'use strict'
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { until, API_ORIGIN } = require('./harness.cjs')
const { backendUrl, bootAs } = require('./session.cjs')

const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp
let grid

before(async () => {
  if (!backendUrl) return
  ;({ mp, account: grid } = await bootAs('grid_worker'))
})

test('the compiled home page loads /me through wx.request and shows the grid-worker tiles', { skip }, async () => {
  const page = mp.openPage('pages/home/index')
  const me = await until(
    () => mp.state.requests.find((r) => r.url === `${API_ORIGIN}/api/v1/me` && r.response),
    'the /me answer',
  )
  assert.equal(me.response.statusCode, 200)
  assert.match(me.header.Authorization, /^Bearer .+/)
  await until(() => /网格待办/.test(page.dom.textContent), 'the grid-worker tiles')
  const text = page.dom.textContent
  assert.match(text, new RegExp(grid.name))
  assert.match(text, /当前身份：网格员/)
  assert.doesNotMatch(page.querySelector('#tile-grid-inbox').dom.textContent, /即将上线/)
  assert.match(page.querySelector('#tile-residents').dom.textContent, /即将上线/)
  assert.deepEqual(mp.state.navigations, [], 'no redirect to login')
})

test('a built tile opens its page; a tile that is not built yet says so instead of navigating', { skip }, async () => {
  const page = mp.openPage('pages/home/index')
  await until(() => page.querySelector('#tile-grid-inbox'), 'the tiles')
  mp.state.navigations.length = 0
  page.querySelector('#tile-grid-inbox').dispatchEvent('tap')
  await until(() => mp.state.navigations.length, 'a navigation')
  assert.deepEqual(mp.state.navigations, [['navigateTo', '/pages/reports/queue']])

  mp.state.navigations.length = 0
  mp.state.toasts.length = 0
  page.querySelector('#tile-residents').dispatchEvent('tap')
  await until(() => mp.state.toasts.length, 'a toast')
  assert.match(mp.state.toasts[0], /即将上线/)
  assert.deepEqual(mp.state.navigations, [])
})
