'use strict'
/**
 * Boot the compiled mini-program signed in as a demo account: sign in out-of-band through the backend's dev login
 * (the production login page has no demo list) and hand the app the stored token pair, as if the person had
 * logged in yesterday. One process per test file, so each file is one person.
 */
const assert = require('node:assert/strict')
const { bootMiniProgram } = require('./harness.cjs')

const backendUrl = process.env.JINLIN_MP_SMOKE_BACKEND

async function accounts() {
  const res = await fetch(`${backendUrl}/api/v1/auth/dev-login`)
  return (await res.json()).accounts
}

async function loginPair(userId) {
  const res = await fetch(`${backendUrl}/api/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  })
  return res.json()
}

/** A small API client as `userId`, for setup and checks. */
async function api(userId) {
  const { access_token } = await loginPair(userId)
  const call = async (method, path, body) => {
    const res = await fetch(`${backendUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`)
    return text ? JSON.parse(text) : undefined
  }
  return { get: (p) => call('GET', p), post: (p, b = {}) => call('POST', p, b) }
}

/** Boot as the first demo account holding exactly `role`. */
async function bootAs(role) {
  const account = (await accounts()).find((a) => a.roles.length === 1 && a.roles[0] === role)
  assert.ok(account, `the demo seed has a ${role}`)
  const pair = await loginPair(account.user_id)
  const mp = bootMiniProgram({ backendUrl, storage: { 'jinlin.tokens': pair } })
  return { mp, account, pair }
}

/** The answer to the first request whose URL starts with `prefix` (after `from` requests), once it arrived. */
function answered(mp, prefix, from = 0) {
  return () => mp.state.requests.slice(from).find((r) => r.url.startsWith(prefix) && r.response)
}

module.exports = { backendUrl, accounts, api, bootAs, answered }
