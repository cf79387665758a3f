'use strict'
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { bootMiniProgram, until, API_ORIGIN } = require('./harness.cjs')

const backendUrl = process.env.JINLIN_MP_SMOKE_BACKEND
const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp

before(async () => {
  if (!backendUrl) return
  // Sign in out-of-band (the production login page has no demo list) and hand the app a stored session,
  // as if the user had logged in yesterday.
  const res = await fetch(`${backendUrl}/api/v1/auth/dev-login`)
  const { accounts } = await res.json()
  const grid = accounts.find((a) => a.roles.length === 1 && a.roles[0] === 'grid_worker')
  assert.ok(grid, 'the demo seed has a grid worker')
  const login = await fetch(`${backendUrl}/api/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: grid.user_id }),
  })
  const pair = await login.json()
  mp = bootMiniProgram({ backendUrl, storage: { 'jinlin.tokens': pair } })
  mp.grid = grid
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
  assert.match(text, new RegExp(mp.grid.name))
  assert.match(text, /当前身份：网格员/)
  assert.match(page.querySelector('#tile-grid-inbox').dom.textContent, /即将上线/)
  assert.deepEqual(mp.state.navigations, [], 'no redirect to login')
})

test('tapping a tile that is not built yet says so instead of navigating', { skip }, async () => {
  const page = mp.openPage('pages/home/index')
  await until(() => page.querySelector('#tile-grid-inbox'), 'the tiles')
  mp.state.toasts.length = 0
  page.querySelector('#tile-grid-inbox').dispatchEvent('tap')
  await until(() => mp.state.toasts.length, 'a toast')
  assert.match(mp.state.toasts[0], /即将上线/)
  assert.deepEqual(mp.state.navigations, [])
})
