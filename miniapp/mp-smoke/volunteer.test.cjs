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

test('附近任务 offers registration to a volunteer without a profile, without an error toast', { skip }, async () => {
  const page = mp.openPage('pages/tasks/hall')
  const profile = await until(answered(mp, `${API_ORIGIN}/api/v1/volunteers/me`), 'the profile answer')
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
