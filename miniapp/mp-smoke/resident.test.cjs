'use strict'
/** The resident in the compiled mini-program: 我要报事 end to end through wx.request. */
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { until, API_ORIGIN } = require('./harness.cjs')
const { answered, backendUrl, bootAs } = require('./session.cjs')

/** A real 8×8 PNG on disk (the backend decodes and re-encodes every photo). */
function writePng() {
  const { mkdtempSync, writeFileSync } = require('node:fs')
  const { join } = require('node:path')
  const { tmpdir } = require('node:os')
  const file = join(mkdtempSync(join(tmpdir(), 'jinlin-mp-')), 'photo.png')
  const b64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGMwTpuJFTEMLQkAyvtMgQDiJ6sAAAAASUVORK5CYII='
  writeFileSync(file, Buffer.from(b64, 'base64'))
  return file
}

const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp

before(async () => {
  if (!backendUrl) return
  ;({ mp } = await bootAs('resident'))
})

test('我要报事: categories, the phone position (gcj02), and the report is filed', { skip }, async () => {
  const page = mp.openPage('pages/reports/new')
  await until(answered(mp, `${API_ORIGIN}/api/v1/reports/categories`), 'the categories')
  // consent templates are fetched when the page loads (the dialog itself may only open inside a tap)
  await until(answered(mp, `${API_ORIGIN}/api/v1/notifications/templates`), 'the template list')
  // the picker is its own component: look inside it
  const picker = () => page.querySelector('#report-category')
  await until(() => picker()?.querySelector('#cat-facilities'), 'the category buttons')
  picker().querySelector('#cat-facilities').dispatchEvent('tap')
  await until(() => picker().querySelector('#cat-facilities-streetlight'), 'the sub-categories')
  picker().querySelector('#cat-facilities-streetlight').dispatchEvent('tap')
  page.querySelector('#place-here').dispatchEvent('tap')
  await until(() => page.querySelector('#place-located'), 'the position')
  assert.equal(mp.state.locationType, 'gcj02')
  page.querySelector('#report-description').dispatchEvent('input', { detail: { value: '路灯不亮（小程序冒烟测试）' } })
  // a photo: chooseImage gives a temp file, wx.uploadFile sends it as multipart with the bearer token
  mp.state.chosenImage = writePng()
  const photoButton = () => page.querySelector('#report-photos')?.querySelector('#report-photo')
  await until(photoButton, 'the photo button')
  photoButton().dispatchEvent('tap')
  const upload = await until(() => mp.state.requests.find((r) => r.upload && r.response), 'the upload answer')
  assert.equal(upload.response.statusCode, 201, upload.response.data)
  assert.match(upload.header.Authorization, /^Bearer /)
  const mediaId = JSON.parse(upload.response.data).id
  await new Promise((r) => setTimeout(r, 50))
  page.querySelector('#report-submit').dispatchEvent('tap')
  const filed = await until(
    () => mp.state.requests.find((r) => r.url === `${API_ORIGIN}/api/v1/reports` && r.method === 'POST' && r.response),
    'the report answer',
  )
  assert.equal(filed.response.statusCode, 201, JSON.stringify(filed.response.data))
  assert.deepEqual(
    { category: filed.data.category, lat: filed.data.lat, lng: filed.data.lng, channel: filed.data.channel },
    { category: 'facilities.streetlight', lat: 36.06569, lng: 103.72566, channel: 'app' },
  )
  assert.deepEqual(filed.data.photo_ids, [mediaId])
  // consent: WeChat's dialog was opened in the submit tap itself (before the report request), and the answer recorded
  const templates = mp.state.requests.find((r) => r.url.endsWith('/api/v1/notifications/templates')).response.data
  assert.deepEqual(templates.map((t) => t.template_id), ['tplReportStatus'])
  assert.equal(mp.state.subscribeAsks.length, 1)
  assert.deepEqual(mp.state.subscribeAsks[0].ids, ['tplReportStatus'])
  // (afterRequests = how many requests had been made when the dialog opened: the report was not one of them)
  assert.ok(mp.state.subscribeAsks[0].afterRequests <= mp.state.requests.indexOf(filed), 'asked before the report was sent')
  const recorded = await until(
    () => mp.state.requests.find((r) => r.url.endsWith('/api/v1/notifications/subscriptions') && r.response),
    'the consent record',
  )
  assert.deepEqual(recorded.data, { results: { tplReportStatus: 'accept' } })
  assert.equal(recorded.response.statusCode, 201, JSON.stringify(recorded.response.data))
  assert.equal(recorded.response.data.remaining.tplReportStatus, 1)
  assert.equal(filed.response.data.photos.length, 1)
  await until(() => page.querySelector('#report-done'), 'the confirmation')
  assert.match(page.querySelector('#report-done').dom.textContent, new RegExp(`编号 ${filed.response.data.id}`))
})

test('爱心超市 and 积分和时长 load', { skip }, async () => {
  const store = mp.openPage('pages/store/index')
  await until(answered(mp, `${API_ORIGIN}/api/v1/store/stores`), 'the stores')
  await until(() => store.querySelector('#store-balance'), 'the balance')
  const ledger = mp.openPage('pages/ledger/index')
  await until(() => ledger.querySelector('#ledger-points'), 'the points')
  assert.match(ledger.querySelector('#ledger-summary').dom.textContent, /爱心积分/)
})

test('a resident without a volunteer profile who opens 附近任务 is offered registration, not an error', { skip }, async () => {
  const page = mp.openPage('pages/tasks/hall')
  const profile = await until(answered(mp, `${API_ORIGIN}/api/v1/volunteers/me`), 'the profile answer')
  assert.equal(profile.response.statusCode, 404)
  await until(() => page.querySelector('#go-register'), 'the registration button')
  assert.match(page.dom.textContent, /还没有登记为志愿者/)
  assert.equal(mp.state.toasts.filter((t) => /登记/.test(t)).length, 0)
  const reg = mp.openPage('pages/volunteer/register')
  await until(() => reg.querySelector('#vol-submit'), 'the registration form')
  mp.state.toasts.length = 0
  reg.querySelector('#vol-submit').dispatchEvent('tap')
  await until(() => /请填写真实姓名/.test(reg.dom.textContent), 'the form says what is missing')
})
