#!/usr/bin/env node
/**
 * `npm run test:e2e`: browser tests of the H5 build against the real backend.
 * - No chromium → say so and exit 0 (exit 1 when JINLIN_REQUIRE_BROWSER=1, e.g. in CI).
 * - Builds H5 first (skip with JINLIN_E2E_SKIP_BUILD=1), then runs Playwright with e2e/playwright.config.ts.
 * Extra arguments go to `playwright test` (e.g. `npm run test:e2e -- --grep grid`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const requireBrowser = process.env.JINLIN_REQUIRE_BROWSER === '1'

if (!existsSync(chromium)) {
  if (requireBrowser) {
    console.error(`chromium not installed (looked for ${chromium}) and JINLIN_REQUIRE_BROWSER=1: failing`)
    process.exit(1)
  }
  console.log(`chromium not installed: browser tests skipped (looked for ${chromium}; apt-get install chromium fonts-noto-cjk)`)
  process.exit(0)
}

const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1

if (process.env.JINLIN_E2E_SKIP_BUILD !== '1') {
  const status = run('npm', ['run', '--silent', 'build:h5'])
  if (status !== 0) process.exit(status)
} else if (!existsSync(join(root, 'dist/build/h5/index.html'))) {
  console.error('JINLIN_E2E_SKIP_BUILD=1 but there is no dist/build/h5: run `npm run build:h5`')
  process.exit(1)
}

process.exit(run(join(root, 'node_modules/.bin/playwright'), ['test', '-c', 'e2e/playwright.config.ts', ...process.argv.slice(2)]))
