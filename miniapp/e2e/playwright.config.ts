import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser'

// Playwright loads this file as CommonJS (package.json has no "type": "module"): __dirname, not import.meta
const here = `${__dirname}/`

/** Run through `npm run test:e2e` (scripts/run-e2e.mjs), which builds H5 and checks for chromium first. */
export default defineConfig({
  testDir: here,
  testMatch: '**/*.spec.ts',
  globalSetup: './global-setup.ts',
  outputDir: `${here}../test-artifacts/playwright`,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    // a phone: the mini-program's H5 build is laid out for ~375-414px wide screens
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: 'off',
  },
})
