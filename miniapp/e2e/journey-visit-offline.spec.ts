import { expect, test } from '@playwright/test'
import { snap } from './steps'
import { apiAs, demoAccounts, field, only, phone, signIn } from './support'

interface PlanItem {
  household_id: number
  label: string
  building_id: number
  lat: number | null
  lng: number | null
}

interface QueuedVisit {
  client_id: string
  household_id: number
  state: string
}

/**
 * Journey (c), 入户走访 with no signal: a grid worker opens the visit plan, loses the network
 * (`context.setOffline(true)`), checks in at a household — the check-in is kept on the phone with a client UUID
 * and shown as waiting — and when the network is back it is uploaded by itself, once, with that same client id.
 */
test('a grid worker checks in a visit offline and it syncs when back online', async ({ browser }, info) => {
  test.setTimeout(90_000)
  const accounts = await demoAccounts()
  const worker = only(accounts, 'grid_worker')
  const api = await apiAs(worker.user_id)
  const plan = await api.get<{ items: PlanItem[] }>('/api/v1/visits/plan')
  const target = plan.items.find((h) => h.lat !== null) ?? plan.items[0]
  expect(target, 'the demo seed assigns households to the grid worker').toBeTruthy()
  const before = await api.get<{ items: { id: number; client_id: string }[] }>(
    `/api/v1/visits?mine=true&household_id=${target.household_id}`,
  )

  const ctx = await phone(browser, { lat: target.lat ?? 36.0657, lng: target.lng ?? 103.7257 })
  const page = await ctx.newPage()

  await test.step('the worker opens 入户走访 while online', async () => {
    await signIn(page, worker)
    await page.locator('#tile-visits').click()
    await expect(page).toHaveURL(/pages\/visits\/plan/)
    await expect(page.locator(`#visit-${target.household_id}`)).toContainText(target.label)
    await expect(page.locator('#net-status')).toContainText('网络正常')
    await snap(page, info, 'plan-online')
  })

  let clientId = ''
  await test.step('no signal: the check-in is recorded on the phone and shown as waiting', async () => {
    await ctx.setOffline(true)
    await expect(page.locator('#net-status')).toContainText('没有网络')
    await page.locator(`#checkin-${target.household_id}`).click()
    await page.locator('#checkin-home-yes').click()
    await page.locator('#tag-care').click()
    await field(page, 'checkin-notes').fill('独居老人，腿脚不便，需要定期上门')
    await snap(page, info, 'checkin-form-offline')
    await page.locator('#checkin-submit').click()

    const queued = page.locator(`#queued-${target.household_id}`)
    await expect(queued).toHaveAttribute('data-state', 'pending', { timeout: 15_000 })
    await expect(queued).toContainText('待上传')
    await expect(queued).toContainText('没有网络')
    await expect(page.locator('#queue-counts')).toContainText('待上传 1 条')
    await expect(page.locator(`#visit-${target.household_id}`)).toContainText('已打卡，待上传')

    // it is on the phone (uni.setStorageSync → localStorage on H5), under this worker, with a client UUID
    const stored = await page.evaluate((key) => {
      const raw = window.localStorage.getItem(key)
      if (!raw) return null
      const parsed = JSON.parse(raw) as { data?: unknown }
      return (parsed && typeof parsed === 'object' && 'data' in parsed ? parsed.data : parsed) as unknown
    }, `jinlin.visitQueue.${worker.user_id}`)
    const items = stored as QueuedVisit[]
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ household_id: target.household_id, state: 'pending' })
    expect(items[0].client_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    clientId = items[0].client_id

    // and not on the server
    const now = await api.get<{ items: { client_id: string }[] }>(`/api/v1/visits?mine=true&household_id=${target.household_id}`)
    expect(now.items.map((v) => v.client_id)).not.toContain(clientId)
    expect(now.items).toHaveLength(before.items.length)
    await snap(page, info, 'checkin-waiting-offline')
  })

  await test.step('the signal comes back: it uploads by itself, once, with the same client id', async () => {
    await ctx.setOffline(false)
    const queued = page.locator(`#queued-${target.household_id}`)
    await expect(queued).toHaveAttribute('data-state', 'created', { timeout: 20_000 })
    await expect(queued).toContainText('已上传')
    await expect(page.locator('#net-status')).toContainText('网络正常')
    await expect(page.locator('#queue-counts')).toContainText('待上传 0 条')
    const after = await api.get<{ items: { client_id: string; notes: string; tags: string[]; at_home: boolean; flagged: boolean }[] }>(
      `/api/v1/visits?mine=true&household_id=${target.household_id}`,
    )
    const mine = after.items.filter((v) => v.client_id === clientId)
    expect(mine, 'stored exactly once, under the client id made on the phone').toHaveLength(1)
    expect(mine[0]).toMatchObject({ notes: '独居老人，腿脚不便，需要定期上门', tags: ['care'], at_home: true })
    expect(after.items).toHaveLength(before.items.length + 1)
    await snap(page, info, 'checkin-synced')
  })

  await test.step('a stale copy of that check-in (same client id, other notes) shows as a conflict the worker settles', async () => {
    // what a second copy of the queue (a restored backup, another device) would send: same id, different content
    await page.evaluate(
      ({ key, id }) => {
        const wrapped = JSON.parse(window.localStorage.getItem(key)!) as { type: string; data: { client_id: string; notes: string; state: string }[] }
        const item = wrapped.data.find((v) => v.client_id === id)!
        item.notes = '补记：老人说下周要去医院复查'
        item.state = 'pending'
        window.localStorage.setItem(key, JSON.stringify(wrapped))
      },
      { key: `jinlin.visitQueue.${worker.user_id}`, id: clientId },
    )
    await page.reload()
    const queued = page.locator(`#queued-${target.household_id}`)
    await expect(queued).toHaveAttribute('data-state', 'conflict', { timeout: 15_000 })
    await expect(queued).toContainText('与服务器记录不一致')
    await expect(queued).toContainText('情况记录')
    await snap(page, info, 'conflict-shown')
    await queued.getByText('用手机上的内容更新').click()
    await expect(queued).toHaveAttribute('data-state', 'updated', { timeout: 15_000 })
    const visits = await api.get<{ items: { client_id: string; notes: string; version: number }[] }>(
      `/api/v1/visits?mine=true&household_id=${target.household_id}`,
    )
    const mine = visits.items.filter((v) => v.client_id === clientId)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ notes: '补记：老人说下周要去医院复查', version: 2 })
    await snap(page, info, 'conflict-settled')
  })

  await test.step('the month 台账 counts it', async () => {
    await page.goto('/#/pages/visits/month')
    await expect(page.locator('#my-month')).toContainText('覆盖率')
    await snap(page, info, 'visit-month')
  })

  await ctx.close()
})
