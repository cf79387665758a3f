'use strict'
/** Community staff in the compiled mini-program (H5 is their main tool, but the pages load here too). */
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { until, API_ORIGIN } = require('./harness.cjs')
const { answered, backendUrl, bootAs } = require('./session.cjs')

const skip = backendUrl ? false : 'no backend in this run (see run.mjs output)'
let mp

before(async () => {
  if (!backendUrl) return
  ;({ mp } = await bootAs('community_staff'))
})

test('数据看板 draws the 三率 (bars as views, the trend as an SVG image)', { skip }, async () => {
  const page = mp.openPage('pages/staff/dashboard')
  await until(answered(mp, `${API_ORIGIN}/api/v1/reports/board/`), 'a board answer')
  await until(() => page.querySelector('#dashboard'), 'the dashboard', 15_000)
  const text = page.dom.textContent
  for (const word of ['响应率', '解决率', '满意率', '近六个月走势']) assert.match(text, new RegExp(word))
  const img = page.querySelector('#trend-chart').dom.querySelector('image, wx-image')
  assert.ok(img, 'the trend chart image')
})
