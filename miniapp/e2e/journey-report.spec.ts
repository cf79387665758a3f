import { expect, test } from '@playwright/test'
import { baseUrl, snap } from './steps'
import {
  apiAs,
  attachPhoto,
  demoAccounts,
  expectBigTargets,
  expectNoHorizontalOverflow,
  field,
  only,
  phone,
  signIn,
} from './support'

interface Unit {
  id: number
  lat: number | null
  lng: number | null
}

/**
 * Journey (a), 说办评: a resident reports a broken street lamp with a photo from their phone's position → the grid
 * worker, whose queue page is open, sees it arrive within 2 s without reloading (WebSocket) → the worker accepts and
 * resolves it with a photo → the resident rates it. The resident does all of it at 200 % text size (特大字).
 */
test('a resident reports with a photo, the grid worker sees it live, resolves it, and the resident rates it', async ({ browser }, info) => {
  test.setTimeout(120_000)
  const accounts = await demoAccounts()
  const resident = only(accounts, 'resident')
  const worker = only(accounts, 'grid_worker')

  // Where the resident lives: their household's building, in the worker's grid (the demo seed puts them there).
  const asWorker = await apiAs(worker.user_id)
  const me = await (await apiAs(resident.user_id)).get<{ household: { id: number } }>('/api/v1/me')
  const household = await asWorker.get<{ building_id: number }>(`/api/v1/org/households/${me.household.id}`)
  const building = await asWorker.get<Unit>(`/api/v1/org/units/${household.building_id}`)
  const at = { lat: building.lat!, lng: building.lng! }

  const workerCtx = await phone(browser)
  const residentCtx = await phone(browser, at)
  const w = await workerCtx.newPage()
  const r = await residentCtx.newPage()
  const offOrigin: string[] = []
  for (const p of [w, r]) {
    p.on('request', (req) => {
      const url = new URL(req.url())
      if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== new URL(baseUrl()).origin) {
        offOrigin.push(req.url())
      }
    })
  }

  await test.step('the grid worker opens 网格待办 and it is live', async () => {
    await signIn(w, worker)
    await w.locator('#tile-grid-inbox').click()
    await expect(w).toHaveURL(/pages\/reports\/queue/)
    await expect(w.locator('#live-status')).toContainText('实时接收中', { timeout: 15_000 })
    await snap(w, info, 'worker-queue-live')
  })

  let reportId = 0
  let submittedAt = 0
  await test.step('the resident switches to 特大字 (200 %) and files the report with a photo', async () => {
    await signIn(r, resident)
    await r.locator('#toggle-xlarge-text').click()
    await expect(r.locator('#toggle-xlarge-text')).toContainText('已开启')
    await expectNoHorizontalOverflow(r, 'home at 200 %')
    await r.locator('#tile-report').click()
    await expect(r).toHaveURL(/pages\/reports\/new/)
    await r.locator('#cat-facilities').click()
    await r.locator('#cat-facilities-streetlight').click()
    await r.locator('#place-here').click()
    await expect(r.locator('#place-located')).toBeVisible()
    await field(r, 'report-description').fill('3号楼旁边的路灯坏了三天，晚上出门很黑')
    await attachPhoto(r, 'report-photo', 'lamp.png')
    await expect(r.locator('.jl-photo-picker uni-image')).toHaveCount(1)
    await expectNoHorizontalOverflow(r, 'report form at 200 %')
    await expectBigTargets(r, 'report form at 200 %')
    const title = await r.locator('#report-submit').evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    expect(title, 'the submit button text is really doubled (34rpx × 2)').toBeGreaterThanOrEqual(30)
    await snap(r, info, 'resident-report-form-200pct')

    const answer = r.waitForResponse((res) => res.url().endsWith('/api/v1/reports') && res.request().method() === 'POST')
    await r.locator('#report-submit').click()
    const res = await answer
    expect(res.status()).toBe(201)
    submittedAt = Date.now()
    reportId = ((await res.json()) as { id: number }).id
    await expect(r.locator('#report-done')).toContainText(`编号 ${reportId}`)
    await snap(r, info, 'resident-report-submitted')
  })

  await test.step('the worker sees it arrive within 2 s, without reloading', async () => {
    const item = w.locator(`#queue-item-${reportId}`)
    await expect(item).toBeVisible({ timeout: 2_000 })
    const arrivedAfter = Date.now() - submittedAt
    expect(arrivedAfter).toBeLessThan(2_000)
    info.annotations.push({ type: 'arrival', description: `report ${reportId} on the worker's page ${arrivedAfter} ms after the 201` })
    console.log(`[journey a] report ${reportId} appeared on the worker's open queue ${arrivedAfter} ms after the resident's 201`)
    await expect(w.locator('#queue-badge')).toHaveText('1')
    await expect(item).toContainText('路灯不亮')
    await snap(w, info, 'worker-report-arrived-live')
  })

  await test.step('the worker accepts and resolves it with a photo', async () => {
    await w.locator(`#queue-item-${reportId}`).click()
    await expect(w).toHaveURL(new RegExp(`pages/reports/detail\\?id=${reportId}`))
    await expect(w.locator('#report-detail')).toContainText('3号楼旁边的路灯坏了三天')
    await expect(w.locator('#report-detail uni-image').first()).toBeVisible() // the resident's photo, by signed URL
    await w.locator('#act-accept').click()
    await expect(w.locator('#report-status')).toContainText('办理中')
    await w.locator('#act-resolve').click()
    await field(w, 'resolve-note').fill('已联系路灯所更换灯泡，今晚恢复照明')
    await field(w, 'resolve-public').fill('已更换路灯灯泡')
    await attachPhoto(w, 'resolve-photo', 'fixed.png')
    await expect(w.locator('#resolve-form uni-image')).toHaveCount(1)
    await snap(w, info, 'worker-resolve-form')
    await w.locator('#resolve-submit').click()
    await expect(w.locator('#report-status')).toContainText('已办结')
    await expect(w.locator('#report-timeline')).toContainText('已受理')
    await snap(w, info, 'worker-resolved')
  })

  await test.step('the resident sees the result and rates it 5 stars', async () => {
    await r.goto(`/#/pages/reports/mine`)
    const mine = r.locator(`#my-report-${reportId}`)
    await expect(mine).toContainText('已办结')
    await expectNoHorizontalOverflow(r, 'my reports at 200 %')
    await mine.click()
    await expect(r.locator('#report-result')).toContainText('已联系路灯所更换灯泡')
    await expect(r.locator('#rate-form')).toBeVisible()
    await r.locator('#rate-5').click()
    await expect(r.locator('#rate-5')).toHaveAttribute('aria-checked', 'true')
    await field(r, 'rate-comment').fill('修得很快，谢谢网格员')
    await expectNoHorizontalOverflow(r, 'rating at 200 %')
    await expectBigTargets(r, 'rating at 200 %')
    await snap(r, info, 'resident-rating-200pct')
    await r.locator('#rate-submit').click()
    await expect(r.locator('#detail-notice')).toContainText('已结案')
    await expect(r.locator('#report-status')).toContainText('已结案')
    await expect(r.locator('#report-rating')).toContainText('5分')
    await snap(r, info, 'resident-rated')
  })

  await test.step('the server agrees, and nothing was fetched from another origin', async () => {
    const stored = await asWorker.get<{ status: string; rating: number; photos: unknown[] }>(`/api/v1/reports/${reportId}`)
    expect(stored).toMatchObject({ status: 'closed', rating: 5 })
    expect(stored.photos).toHaveLength(1)
    expect(offOrigin, 'requests that left the app origin (vendor CDN, fonts…)').toEqual([])
  })

  await workerCtx.close()
  await residentCtx.close()
})
