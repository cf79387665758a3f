import { expect, test } from '@playwright/test'
import { snap } from './steps'
import { apiAs, demoAccounts, field, moveTo, only, phone, signIn } from './support'

interface Unit {
  id: number
  lat: number
  lng: number
}

/** A valid 18-digit ID number (GB 11643 check digit) for the volunteers' real-name registration. */
function idNumber(base17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = w.reduce((acc, x, i) => acc + x * Number(base17[i]), 0)
  return base17 + '10X98765432'[sum % 11]
}

/**
 * Journey (b), 爱心超市 → 服务快递站 → 时间银行: a resident orders goods for delivery → two volunteers, both with the
 * task hall open, race to accept it (two browser contexts, tapped at the same moment) → exactly one wins, the
 * other is told kindly → the store keeper confirms the pick-up, the volunteer delivers at the door, the resident
 * confirms → the volunteer's hours rise.
 *
 * The test does not rely on the 爱心超市 demo data (the delivery seeder was being written at the same time): through
 * the public API as community staff it uses the community's store or opens one, adds a fresh item with no stock,
 * gives the resident points, registers and approves the two volunteers unless they already are, and offers the
 * task to both directly (matching alone may pick other volunteers for its first wave).
 */
test('two volunteers race for a delivery, one wins, the other is told kindly, and the winner earns hours', async ({ browser }, info) => {
  test.setTimeout(150_000)
  const accounts = await demoAccounts()
  const resident = only(accounts, 'resident', 1) // not the one journey (a) uses
  const staff = only(accounts, 'community_staff')
  const v1 = only(accounts, 'volunteer', 0)
  const v2 = only(accounts, 'volunteer', 1)
  const asStaff = await apiAs(staff.user_id)

  // ---- setup, through the API as community staff, for whatever the demo seed does not provide
  const asResident = await apiAs(resident.user_id)
  const me = await asResident.get<{ household: { id: number }; roles: { org_unit_id: number }[] }>('/api/v1/me')
  const community = me.roles[0].org_unit_id
  const household = await asStaff.get<{ building_id: number }>(`/api/v1/org/households/${me.household.id}`)
  const door = await asStaff.get<Unit>(`/api/v1/org/units/${household.building_id}`)
  // the community's 爱心超市: the seeded one if there is one, else one beside the resident's building
  const stores = await asStaff.get<{ id: number; community_id: number; lat: number; lng: number }[]>('/api/v1/store/stores')
  const store =
    stores.find((x) => x.community_id === community) ??
    (await asStaff.post<{ id: number; community_id: number; lat: number; lng: number }>('/api/v1/store/stores', {
      community_id: community, name: '土门墩社区爱心超市', address: '社区服务中心一楼',
      lat: door.lat + 0.002, lng: door.lng + 0.002,
    }))
  const shop = { lat: store.lat, lng: store.lng }
  // a fresh item with no stock, so the stock-in below is what makes it orderable
  const item = await asStaff.post<{ id: number }>(`/api/v1/store/stores/${store.id}/items`, {
    name: `爱心挂面（${Date.now() % 100000}）`, category: '粮油', unit: '袋', price_points: 10, monthly_limit: 5, low_stock_at: 2,
  })
  await asStaff.post('/api/v1/ledger/awards', {
    user_id: resident.user_id, currency: 'point', amount: 40, reason: '参加社区环境整治', idempotency_key: `e2e-award-${resident.user_id}`,
  })
  const points = (await asResident.get<{ points: { balance: number } }>('/api/v1/ledger/me')).points.balance
  // both volunteers registered (real name) and approved by community staff
  for (const [i, v] of [v1, v2].entries()) {
    const asV = await apiAs(v.user_id)
    let profile = await asV.get<{ id: number; status: string }>('/api/v1/volunteers/me').catch(() => null)
    profile ??= await asV.post<{ id: number; status: string }>('/api/v1/volunteers/me', {
      real_name: v.name, id_number: idNumber(`6201021980010100${i + 1}`), community_id: community, skills: ['delivery'],
      area: { lat: door.lat, lng: door.lng, radius_m: 3000 },
    })
    if (profile.status === 'pending') await asStaff.post(`/api/v1/volunteers/${profile.id}/approve`)
  }
  const hoursBefore = await Promise.all(
    [v1, v2].map(async (v) => (await (await apiAs(v.user_id)).get<{ earned_minutes: number }>('/api/v1/ledger/me')).earned_minutes),
  )

  const staffCtx = await phone(browser)
  const residentCtx = await phone(browser, door)
  const v1Ctx = await phone(browser, shop)
  const v2Ctx = await phone(browser, shop)
  const s = await staffCtx.newPage()
  const r = await residentCtx.newPage()
  const p1 = await v1Ctx.newPage()
  const p2 = await v2Ctx.newPage()

  await test.step('community staff stock the new item in (捐赠入库) on the staff page', async () => {
    await signIn(s, staff)
    await s.locator('#tile-stock').click()
    await expect(s.locator(`#stock-item-${item.id}`)).toContainText('货架上 0 袋')
    await s.locator(`#stock-in-${item.id}`).click()
    await field(s, 'stock-qty').fill('20')
    await field(s, 'stock-donor').fill('兰州牛肉面协会')
    await snap(s, info, 'staff-stock-in')
    await s.locator('#stock-in-submit').click()
    await expect(s.locator(`#stock-item-${item.id}`)).toContainText('货架上 20 袋')
  })

  await test.step('both volunteers open the task hall', async () => {
    for (const [p, v] of [[p1, v1], [p2, v2]] as const) {
      await signIn(p, v)
      await p.locator('#tile-tasks-nearby').click()
      await expect(p.locator('uni-page-body')).toContainText('派给我的任务')
    }
    await snap(p1, info, 'volunteer1-hall')
  })

  let taskId = 0
  await test.step('the resident orders two bags for delivery', async () => {
    await signIn(r, resident)
    await r.locator('#tile-market').click()
    await expect(r.locator('#store-balance')).toContainText(`${points} 分`)
    await r.locator(`#plus-${item.id}`).click()
    await r.locator(`#plus-${item.id}`).click()
    await expect(r.locator(`#qty-${item.id}`)).toContainText('2 袋')
    await r.locator('#fulfil-delivery').click()
    await expect(r.locator('#cart')).toContainText('共 20 积分')
    await snap(r, info, 'resident-cart')
    const answer = r.waitForResponse((res) => res.url().endsWith('/api/v1/store/orders') && res.request().method() === 'POST')
    await r.locator('#order-submit').click()
    const order = (await (await answer).json()) as { id: number; task_id: number }
    taskId = order.task_id
    expect(taskId).toBeGreaterThan(0)
    await expect(r.locator('#order-done')).toContainText(`订单号 ${order.id}`)
    await snap(r, info, 'resident-ordered')
  })

  await test.step('the task appears in both halls by itself (WebSocket), with the distance', async () => {
    // Matching offers it in waves to the best few volunteers nearby; the seed may have more of them than a wave
    // takes, so staff also offer it to both directly (as a grid worker would). Either way it arrives live.
    for (const v of [v1, v2]) await asStaff.post(`/api/v1/tasks/${taskId}/offers`, { volunteer_id: v.user_id })
    for (const p of [p1, p2]) {
      await expect(p.locator(`#hall-task-${taskId}`)).toBeVisible({ timeout: 10_000 })
      await expect(p.locator(`#hall-task-${taskId}`)).toContainText('离您约')
    }
    await snap(p2, info, 'volunteer2-hall-offer')
  })

  let winner = p1
  let winnerAccount = v1
  let winnerCtx = v1Ctx
  await test.step('both tap 我来接单 at the same moment: one wins, the other is told kindly', async () => {
    // Both buttons are on screen; tap them within the same millisecond (no per-tap actionability round trips), so
    // both requests are in flight before either answer: the server, not the test, decides who was first.
    const buttons = await Promise.all([p1, p2].map((p) => p.locator(`#accept-${taskId}`).elementHandle()))
    await Promise.all(buttons.map((b) => b!.dispatchEvent('click')))
    await expect(p1.locator('#accept-result')).toBeVisible()
    await expect(p2.locator('#accept-result')).toBeVisible()
    const texts = [await p1.locator('#accept-result').innerText(), await p2.locator('#accept-result').innerText()]
    const won = texts.map((t) => t.includes('接单成功'))
    expect(won.filter(Boolean), `exactly one winner: ${JSON.stringify(texts)}`).toHaveLength(1)
    const loserIndex = won[0] ? 1 : 0
    expect(texts[loserIndex]).toContain('手慢了')
    expect(texts[loserIndex]).toContain('感谢您的热心')
    if (!won[0]) {
      winner = p2
      winnerAccount = v2
      winnerCtx = v2Ctx
    }
    const loser = loserIndex === 0 ? p1 : p2
    // a friendly note on the page, not an error toast, and the task is gone from the loser's hall
    await expect(loser.locator('uni-toast')).toBeHidden()
    await expect(loser.locator(`#hall-task-${taskId}`)).toHaveCount(0)
    await snap(loser, info, 'loser-told-kindly')
    await snap(winner, info, 'winner-accepted')
  })

  await test.step('the winner goes to the store; staff confirm the pick-up', async () => {
    await winner.locator('#open-accepted').click()
    await expect(winner.locator('#step-pickup')).toBeVisible()
    await expect(winner.locator('#task-address')).toContainText('1单元') // the door, shown only to the holder
    await snap(winner, info, 'winner-go-pick-up')
    await s.reload()
    await expect(s.locator(`#pickup-${taskId}`)).toBeVisible()
    await snap(s, info, 'staff-confirm-pickup')
    await s.locator(`#pickup-confirm-${taskId}`).click()
    await expect(s.locator(`#pickup-${taskId}`)).toHaveCount(0)
    await expect(s.locator(`#stock-item-${item.id}`)).toContainText('货架上 18 袋')
  })

  await test.step('the winner walks to the door and marks it delivered (with the position)', async () => {
    // No refresh: the store's confirmation reaches the volunteer as a notice and the page moves on by itself.
    await expect(winner.locator('#task-status')).toContainText('已取货', { timeout: 5000 })
    await expect(winner.locator('#step-deliver')).toBeVisible()
    await moveTo(winnerCtx, door)
    await winner.locator('#task-deliver').click()
    await expect(winner.locator('#task-status')).toContainText('已送达')
    await snap(winner, info, 'winner-delivered')
  })

  await test.step('the resident confirms receipt', async () => {
    await r.goto('/#/pages/store/orders')
    await expect(r.locator(`#confirm-${taskId}`)).toBeVisible()
    await snap(r, info, 'resident-confirm')
    await r.locator(`#confirm-${taskId}`).click()
    await expect(r.locator(`#confirm-${taskId}`)).toHaveCount(0)
    await expect(r.locator('.jl-item').first()).toContainText('已完成')
  })

  await test.step("the winner's hours rose; the loser's did not", async () => {
    await winner.reload()
    await expect(winner.locator('#step-confirmed')).toBeVisible()
    await winner.locator('#go-ledger').click()
    await expect(winner.locator('#ledger-summary')).toBeVisible()
    const wi = winner === p1 ? 0 : 1
    const after = await Promise.all(
      [v1, v2].map(async (v) => (await (await apiAs(v.user_id)).get<{ earned_minutes: number }>('/api/v1/ledger/me')).earned_minutes),
    )
    expect(after[wi]).toBeGreaterThan(hoursBefore[wi])
    expect(after[1 - wi]).toBe(hoursBefore[1 - wi])
    info.annotations.push({ type: 'hours', description: `${winnerAccount.name}: ${hoursBefore[wi]} → ${after[wi]} minutes` })
    console.log(`[journey b] winner ${winnerAccount.name}: ${hoursBefore[wi]} → ${after[wi]} minutes; loser unchanged at ${after[1 - wi]}`)
    await expect(winner.locator('#ledger-summary')).toContainText('累计服务')
    await expect(winner.locator('.jl-item').first()).toContainText('志愿服务')
    await snap(winner, info, 'winner-hours')
  })

  for (const c of [staffCtx, residentCtx, v1Ctx, v2Ctx]) await c.close()
})
