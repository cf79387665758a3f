'use strict'
/** The volunteer in the compiled mini-program: the task hall says what to do when not registered yet (no error). */
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { until, API_ORIGIN } = require('./harness.cjs')
const { answered, backendUrl, bootAs } = require('./session.cjs')

const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp

before(async () => {
  if (!backendUrl) return
  ;({ mp } = await bootAs('volunteer'))
})

test('附近任务: the hall for an approved volunteer, registration for one without a profile, never an error toast', { skip }, async () => {
  const page = mp.openPage('pages/tasks/hall')
  const profile = await until(answered(mp, `${API_ORIGIN}/api/v1/volunteers/me`), 'the profile answer')
  if (profile.response.statusCode === 200) {
    // the demo seed registered this volunteer (the delivery seeder): the hall loads their offers
    assert.equal(profile.response.data.status, 'active')
    const hall = await until(answered(mp, `${API_ORIGIN}/api/v1/tasks/hall`), 'the hall answer')
    assert.equal(hall.response.statusCode, 200)
    await until(() => /派给我的任务（\d+）/.test(page.dom.textContent), 'the hall')
    for (const t of hall.response.data) assert.ok(page.querySelector(`#hall-task-${t.id}`), `task ${t.id} listed`)
    assert.deepEqual(mp.state.toasts, [])
    return
  }
  assert.equal(profile.response.statusCode, 404)
  await until(() => page.querySelector('#go-register'), 'the registration button')
  assert.match(page.dom.textContent, /还没有登记为志愿者/)
  assert.deepEqual(mp.state.toasts, [])
  page.querySelector('#go-register').dispatchEvent('tap')
  await until(() => mp.state.navigations.length, 'a navigation')
  assert.deepEqual(mp.state.navigations.at(-1), ['navigateTo', '/pages/volunteer/register'])
  const reg = mp.openPage('pages/volunteer/register')
  await until(() => reg.querySelector('#vol-submit'), 'the registration form')
})
