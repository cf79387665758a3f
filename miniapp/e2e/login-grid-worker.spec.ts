import { expect, test } from '@playwright/test'
import { baseUrl, snap } from './steps'

interface DevAccount {
  user_id: number
  name: string
  roles: string[]
  label: string
}

test('login as a demo grid worker and see the grid-worker home', async ({ page, request }, info) => {
  // Which demo account is a grid worker is the seed's business: ask the same endpoint the page uses.
  const res = await request.get(`${baseUrl()}/api/v1/auth/dev-login`)
  expect(res.status(), 'dev-login list must exist in development').toBe(200)
  const { accounts } = (await res.json()) as { accounts: DevAccount[] }
  const grid = accounts.find((a) => a.roles.length === 1 && a.roles[0] === 'grid_worker') ??
    accounts.find((a) => a.roles.includes('grid_worker'))
  expect(grid, 'the demo seed has a grid worker').toBeTruthy()

  await test.step('open the app: the login page lists demo accounts', async () => {
    await page.goto(`${baseUrl()}/`)
    await expect(page.locator('#dev-accounts')).toBeVisible()
    await expect(page.locator(`#dev-account-${grid!.user_id}`)).toContainText(grid!.name)
    await snap(page, info, 'login-demo-accounts')
  })

  await test.step('tap the grid worker', async () => {
    await page.locator(`#dev-account-${grid!.user_id}`).click()
    await expect(page).toHaveURL(/#\/pages\/home\/index/)
  })

  await test.step('the home shows the grid-worker role and its tiles', async () => {
    await expect(page.locator('#home-greeting')).toContainText(grid!.name)
    await expect(page.locator('#home-role')).toContainText('网格员')
    const inbox = page.locator('#tile-grid-inbox')
    await expect(inbox).toContainText('网格待办')
    await expect(inbox).not.toContainText('即将上线')
    await expect(page.locator('#tile-visits')).not.toContainText('即将上线')
    await expect(page.locator('#tile-residents')).toContainText('即将上线') // not built yet, and it says so
    await expect(page.locator('#tile-me')).not.toContainText('即将上线')
    await snap(page, info, 'grid-worker-home')
  })

  await test.step('large-text mode makes the tiles bigger', async () => {
    const title = page.locator('#tile-grid-inbox .tile__title')
    const before = await title.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    await page.locator('#toggle-large-text').click()
    await expect(page.locator('#toggle-large-text')).toContainText('已开启')
    const after = await title.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    expect(after).toBeGreaterThanOrEqual(before * 1.25)
    await snap(page, info, 'grid-worker-home-large-text')
  })

  await test.step('the session survives a reload (tokens in storage, /me again)', async () => {
    await page.reload()
    await expect(page.locator('#home-role')).toContainText('网格员')
  })
})
