import { expect, test } from '@playwright/test'
import { snap } from './steps'
import { apiAs, demoAccounts, expectNoHorizontalOverflow, field, only, phone, signIn } from './support'

interface Unit {
  id: number
  name: string
  parent_id: number
  lat: number
  lng: number
}

/**
 * 我也遇到: a neighbour about to report the same thing, at the same building (chosen with the 小区 → 楼栋 picker),
 * is shown the open report first and adds themselves to it instead of filing a duplicate. In 大字 mode.
 */
test('a neighbour sees the open report nearby and taps 我也遇到 instead of filing again', async ({ browser }, info) => {
  const accounts = await demoAccounts()
  const first = only(accounts, 'resident', 0)
  const neighbour = only(accounts, 'resident', 1)
  const staff = await apiAs(only(accounts, 'community_staff').user_id)
  const me = await (await apiAs(neighbour.user_id)).get<{ household: { id: number } }>('/api/v1/me')
  const household = await staff.get<{ building_id: number }>(`/api/v1/org/households/${me.household.id}`)
  const building = await staff.get<Unit>(`/api/v1/org/units/${household.building_id}`)
  const compound = await staff.get<Unit>(`/api/v1/org/units/${building.parent_id}`)
  // filed the way the app files a building-placed report: the building and its point (the backend does not fill
  // in a building's coordinates, and `similar` only sees reports that have some)
  const existing = await (await apiAs(first.user_id)).post<{ id: number }>('/api/v1/reports', {
    category: 'sanitation.garbage', description: '楼下垃圾两天没人清运', building_id: building.id,
    lat: building.lat, lng: building.lng, channel: 'app',
  })

  const ctx = await phone(browser)
  const page = await ctx.newPage()
  await signIn(page, neighbour)
  await page.locator('#toggle-large-text').click()
  await page.locator('#tile-report').click()
  await page.locator('#cat-sanitation').click()
  await page.locator('#cat-sanitation-garbage').click()
  await page.locator('#place-building').click()
  await field(page, 'building-search').fill(compound.name.slice(0, 3))
  await page.getByText('查找小区', { exact: true }).click()
  await page.locator(`#compound-${compound.id}`).click()
  await page.locator(`#building-${building.id}`).click()
  await expect(page.locator(`#building-${building.id}`)).toContainText('✓')

  const similar = page.locator('#similar')
  await expect(similar).toContainText('附近已经有人报过')
  await expect(similar).toContainText('垃圾清运不及时')
  await expectNoHorizontalOverflow(page, 'similar reports in large text')
  await snap(page, info, 'similar-shown')
  await page.locator(`#support-${existing.id}`).click()
  await expect(page.locator(`#support-${existing.id}`)).toContainText('已加上您')
  await snap(page, info, 'supported')

  const stored = await staff.get<{ support_count: number }>(`/api/v1/reports/${existing.id}`)
  expect(stored.support_count).toBe(1)
  await ctx.close()
})

/**
 * Community staff at a desk (H5): a resident phones in, staff file the report on their behalf (the record says who
 * did it and how the resident got in touch), blow the whistle to a department, and read the 三率 dashboard.
 */
test('community staff file for a resident who phoned, whistle to a department, and read the 三率 dashboard', async ({ browser }, info) => {
  test.setTimeout(90_000)
  const accounts = await demoAccounts()
  const staffAccount = only(accounts, 'community_staff')
  const resident = only(accounts, 'resident', 0)
  const staff = await apiAs(staffAccount.user_id)

  const ctx = await phone(browser)
  const page = await ctx.newPage()
  await signIn(page, staffAccount)

  let reportId = 0
  await test.step('find the resident and file for them (电话)', async () => {
    await page.locator('#tile-on-behalf').click()
    await field(page, 'person-search').fill(resident.name)
    await page.locator('#person-search-go').click()
    await page.locator(`#person-${resident.user_id}`).click()
    await expect(page.locator('#person-chosen')).toContainText(resident.name)
    await snap(page, info, 'resident-found')
    await page.locator('#behalf-report').click()
    await expect(page.locator('#on-behalf-banner')).toContainText(`替居民「${resident.name}」登记（电话）`)
    await page.locator('#cat-utilities').click()
    await page.locator('#cat-utilities-heating').click()
    await page.locator('#place-building').click()
    await page.getByText('查找小区', { exact: true }).click()
    await page.locator('[id^="compound-"]').first().click()
    await page.locator('[id^="building-"]').first().click()
    await field(page, 'report-description').fill('老人来电：家里暖气不热，室温只有十二度')
    const answer = page.waitForResponse((res) => res.url().endsWith('/api/v1/reports') && res.request().method() === 'POST')
    await page.locator('#report-submit').click()
    const body = (await (await answer).json()) as { id: number; channel: string; level: string }
    reportId = body.id
    expect(body.channel).toBe('phone')
    await expect(page.locator('#report-done')).toBeVisible()
    await snap(page, info, 'filed-on-behalf')
    const timeline = await staff.get<{ action: string; on_behalf_of_id: number | null; actor_id: number | null }[]>(
      `/api/v1/reports/${reportId}/timeline`,
    )
    expect(timeline[0]).toMatchObject({ on_behalf_of_id: resident.user_id, actor_id: staffAccount.user_id })
  })

  await test.step('blow the whistle to 供热 (吹哨报到)', async () => {
    await page.locator('#report-open').click()
    await expect(page.locator('#report-detail')).toContainText('暖气不热')
    await page.locator('#whistle-open').click()
    const departments = await staff.get<{ id: number; name: string }[]>('/api/v1/org/departments')
    const heating = departments.find((d) => d.name.includes('供热'))!
    await page.locator(`#dept-${heating.id}`).click()
    await field(page, 'whistle-note').fill('请供热公司今天上门检查暖气')
    await snap(page, info, 'whistle-form')
    await page.locator('#whistle-submit').click()
    await expect(page.locator('#whistle-section')).toContainText(heating.name)
    await expect(page.locator('#whistle-section')).toContainText('待报到')
    await snap(page, info, 'whistled')
  })

  await test.step('the 三率 dashboard draws bars and the six-month trend', async () => {
    await page.goto('/#/pages/home/index')
    await page.locator('#tile-dashboard').click()
    await expect(page.locator('#dashboard')).toContainText('响应率')
    await expect(page.locator('#trend-chart uni-image')).toBeVisible()
    const src = await page.locator('#trend-chart uni-image img').getAttribute('src')
    expect(src).toMatch(/^data:image\/svg\+xml/)
    await expect(page.locator('#bars-resolution_rate .jl-bars__row').first()).toBeVisible()
    await snap(page, info, 'dashboard')
  })

  await ctx.close()
})
