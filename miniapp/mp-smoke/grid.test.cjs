'use strict'
/** The grid worker in the compiled mini-program: the live queue (a real socket to the backend) and an offline-capable check-in. */
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { until, API_ORIGIN } = require('./harness.cjs')
const { api, accounts, answered, backendUrl, bootAs } = require('./session.cjs')

const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp
let worker
let pair

before(async () => {
  if (!backendUrl) return
  ;({ mp, account: worker, pair } = await bootAs('grid_worker'))
})

test('网格待办 loads the queue and opens ONE socket, token in the subprotocol, resumed from the inbox cursor', { skip }, async () => {
  const page = mp.openPage('pages/reports/queue')
  const queue = await until(answered(mp, `${API_ORIGIN}/api/v1/reports/queue`), 'the queue answer')
  assert.equal(queue.response.statusCode, 200)
  await until(() => page.querySelector('#tab-new') && /待受理/.test(page.dom.textContent), 'the tabs')
  const socket = await until(() => mp.state.sockets.find((s) => s.received.some((f) => f.type === 'resumed')), 'a resumed socket')
  assert.equal(mp.state.sockets.length, 1)
  assert.equal(socket.url, 'wss://api.jinlin.test/api/v1/ws')
  assert.deepEqual(socket.protocols, ['jinlin.v1', `bearer.${pair.access_token}`])
  const inbox = mp.state.requests.find((r) => r.url.startsWith(`${API_ORIGIN}/api/v1/notifications?`) && r.response)
  const newest = inbox.response.data.items[0]?.id ?? null
  assert.deepEqual(socket.sent.find((f) => f.type === 'resume'), { type: 'resume', after: newest })
  await until(() => /实时接收中/.test(page.querySelector('#live-status').dom.textContent), 'the live status')
})

test('a report filed meanwhile appears on the open queue page through the socket', { skip }, async () => {
  const page = mp.openPage('pages/reports/queue')
  await until(() => mp.state.sockets.some((s) => s.received.some((f) => f.type === 'resumed')), 'a live socket')
  const resident = (await accounts()).find((a) => a.roles.length === 1 && a.roles[0] === 'resident')
  const asResident = await api(resident.user_id)
  const report = await asResident.post('/api/v1/reports', {
    category: 'sanitation.garbage', description: '垃圾两天没人清运（小程序冒烟测试）', channel: 'app',
  })
  assert.equal(report.grid_name, '第1网格')
  const item = await until(() => page.querySelector(`#queue-item-${report.id}`), `#queue-item-${report.id}`, 10_000)
  assert.match(item.dom.textContent, /垃圾清运不及时/)
  assert.match(page.querySelector('#queue-badge').dom.textContent, /1/)
})

test('入户走访: a check-in goes through wx.getLocation (gcj02) and /visits/sync, and is kept on the phone', { skip }, async () => {
  const page = mp.openPage('pages/visits/plan')
  const plan = await until(answered(mp, `${API_ORIGIN}/api/v1/visits/plan`), 'the plan')
  const first = plan.response.data.items[0]
  assert.ok(first, 'the worker has households to visit')
  await until(() => page.querySelector(`#checkin-${first.household_id}`), 'the check-in button')
  page.querySelector(`#checkin-${first.household_id}`).dispatchEvent('tap')
  await until(() => page.querySelector('#checkin-home-yes'), 'the form')
  page.querySelector('#checkin-home-yes').dispatchEvent('tap')
  await new Promise((r) => setTimeout(r, 50))
  page.querySelector('#checkin-submit').dispatchEvent('tap')
  const sync = await until(answered(mp, `${API_ORIGIN}/api/v1/visits/sync`), 'the sync answer')
  assert.equal(mp.state.locationType, 'gcj02')
  assert.equal(sync.response.statusCode, 200)
  const sent = sync.data.items[0]
  assert.match(sent.client_id, /^[0-9a-f-]{36}$/)
  assert.equal(sent.household_id, first.household_id)
  assert.equal(sent.lat, 36.06569)
  assert.equal(sync.response.data.results[0].outcome, 'created')
  const kept = JSON.parse(mp.storage.get(`jinlin.visitQueue.${worker.user_id}`))
  assert.equal(kept[0].client_id, sent.client_id)
  await until(() => kept && JSON.parse(mp.storage.get(`jinlin.visitQueue.${worker.user_id}`))[0].state === 'created', 'stored as uploaded')
})
