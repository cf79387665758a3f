'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { bootMiniProgram, until, API_ORIGIN } = require('./harness.cjs')

const backendUrl = process.env.JINLIN_MP_SMOKE_BACKEND
const mp = bootMiniProgram({ backendUrl })
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('the compiled login page renders the WeChat button and the staff form', () => {
  const page = mp.openPage('pages/login/index')
  const text = page.dom.textContent
  assert.match(text, /近邻/)
  assert.ok(page.querySelector('#wechat-login'), 'WeChat login button (mp-weixin only) is rendered')
  assert.match(page.querySelector('#wechat-login').dom.textContent, /微信一键登录/)
  assert.ok(page.querySelector('#staff-phone'), 'phone input')
  assert.ok(page.querySelector('#staff-password'), 'password input')
  // production build: the demo-account list is a development aid and must not appear
  assert.equal(page.querySelector('#dev-accounts'), undefined)
  assert.equal(mp.state.requests.filter((r) => r.url.includes('dev-login')).length, 0)
})

test('tapping 登录 with no phone number says what is missing (compiled event handlers run)', async () => {
  const page = mp.openPage('pages/login/index')
  mp.state.toasts.length = 0
  page.querySelector('#staff-login').dispatchEvent('tap')
  await until(() => mp.state.toasts.length, 'a toast')
  assert.deepEqual(mp.state.toasts, ['请输入 11 位手机号'])
  assert.equal(mp.state.requests.length, 0)
})

test(
  'WeChat login sends the uni.login code to the backend and shows its answer',
  { skip: backendUrl ? false : 'no backend in this run (see run.mjs output)' },
  async () => {
    const page = mp.openPage('pages/login/index')
    mp.state.toasts.length = 0
    page.querySelector('#wechat-login').dispatchEvent('tap')
    const req = await until(
      () => mp.state.requests.find((r) => r.url === `${API_ORIGIN}/api/v1/auth/wechat` && r.response),
      'the /auth/wechat answer',
    )
    assert.equal(req.method, 'POST')
    assert.deepEqual(req.data, { code: 'mp-smoke-code' })
    assert.match(req.header['Idempotency-Key'], UUID_V4)
    assert.equal(req.header.Authorization, undefined)
    const { statusCode, data } = req.response
    if (statusCode >= 200 && statusCode < 300) {
      await until(() => mp.state.navigations.some(([, url]) => url === '/pages/home/index'), 'the home page')
    } else {
      // development backends have no WeChat credentials: the server's Chinese message reaches the user
      assert.equal(typeof data.message, 'string')
      await until(() => mp.state.toasts.length, 'a toast')
      assert.deepEqual(mp.state.toasts, [data.message])
    }
  },
)

test('the build makes no request to the framework vendor CDN (preload removed in vite.config.ts)', () => {
  const { readFileSync } = require('node:fs')
  const { join } = require('node:path')
  const vendor = readFileSync(join(require('./harness.cjs').ROOT, 'common', 'vendor.js'), 'utf8')
  assert.equal(vendor.includes('preloadAssets'), false)
  assert.equal(mp.state.unknownCalls.has('preloadAssets'), false)
})
