/** Small helpers shared by specs: where the backend is, and numbered step screenshots. */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page, TestInfo } from '@playwright/test'

export function baseUrl(): string {
  const url = process.env.JINLIN_E2E_BASE_URL
  if (!url) throw new Error('JINLIN_E2E_BASE_URL is not set: run through `npm run test:e2e` (global setup)')
  return url
}

const shots = new WeakMap<TestInfo, number>()

/** Saves test-artifacts/e2e/<test title>/<NN>-<name>.png (a full-page screenshot of this step). */
export async function snap(page: Page, info: TestInfo, name: string): Promise<void> {
  const n = (shots.get(info) ?? 0) + 1
  shots.set(info, n)
  const title = info.titlePath.slice(1).join(' - ').replace(/[^\w\u4e00-\u9fa5-]+/g, '_')
  const dir = join(__dirname, '..', 'test-artifacts', 'e2e', title)
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: join(dir, `${String(n).padStart(2, '0')}-${name}.png`), fullPage: true })
}
