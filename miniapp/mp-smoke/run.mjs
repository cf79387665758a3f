#!/usr/bin/env node
/**
 * `npm run test:mp`: smoke-test the real mp-weixin build without WeChat DevTools.
 * 1. build mp-weixin into dist/smoke/mp-weixin with VITE_API_BASE=https://api.jinlin.test
 *    (skip with JINLIN_MP_SMOKE_SKIP_BUILD=1);
 * 2. start the real backend (scripts/backend-server.cjs; $JINLIN_PYTHON). If it cannot start, the
 *    backend-dependent tests are skipped with the reason printed, unless JINLIN_REQUIRE_BACKEND=1;
 * 3. run mp-smoke/*.test.cjs with node:test (each file boots the compiled app in its own process).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const require = createRequire(import.meta.url)
const { startBackend } = require('../scripts/backend-server.cjs')
const outDir = join(root, 'dist', 'smoke', 'mp-weixin')

if (process.env.JINLIN_MP_SMOKE_SKIP_BUILD !== '1') {
  const build = spawnSync(join(root, 'node_modules/.bin/uni'), ['build', '-p', 'mp-weixin', '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VITE_API_BASE: 'https://api.jinlin.test' },
  })
  if (build.status !== 0) process.exit(build.status ?? 1)
}
if (!existsSync(join(outDir, 'app.json'))) {
  console.error(`no mp-weixin build in ${outDir}`)
  process.exit(1)
}

// One subscribe-message template (for "my report's progress"), so the consent path can be exercised end to end.
process.env.JINLIN_WECHAT_TEMPLATES ??= JSON.stringify({
  'report.status': { template_id: 'tplReportStatus', data: { thing1: '{title:.20}', time2: '{time}' } },
})

let backend = null
try {
  backend = await startBackend({ logFile: join(root, 'test-artifacts', 'mp-smoke-backend.log') })
  console.log(`mp-smoke: backend at ${backend.baseUrl}`)
} catch (err) {
  const reason = String(err.message || err).split('\n').slice(0, 12).join('\n')
  if (process.env.JINLIN_REQUIRE_BACKEND === '1') {
    console.error(`mp-smoke: backend could not start and JINLIN_REQUIRE_BACKEND=1:\n${reason}`)
    process.exit(1)
  }
  console.warn(`mp-smoke: backend could not start; tests that need it are SKIPPED:\n${reason}`)
}

const files = readdirSync(here).filter((f) => f.endsWith('.test.cjs')).map((f) => join(here, f))
// --test-force-exit: the compiled app keeps its realtime socket (and its reconnect timer) open, as it should
const res = spawnSync(process.execPath, ['--test', '--test-force-exit', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...(backend ? { JINLIN_MP_SMOKE_BACKEND: backend.baseUrl } : {}) },
})
if (backend) await backend.stop()
process.exit(res.status ?? 1)
