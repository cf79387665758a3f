import { expect, test } from '@playwright/test'
import { baseUrl, snap } from './steps'

test('a resident sees a masked phone on 我的 and can log out', async ({ page, request }, info) => {
  const { accounts } = (await (await request.get(`${baseUrl()}/api/v1/auth/dev-login`)).json()) as {
    accounts: { user_id: number; name: string; roles: string[] }[]
  }
  const resident = accounts.find((a) => a.roles.length === 1 && a.roles[0] === 'resident')
  expect(resident, 'the demo seed has a resident').toBeTruthy()

  await page.goto(`${baseUrl()}/`)
  await page.locator(`#dev-account-${resident!.user_id}`).click()
  await expect(page.locator('#home-role')).toContainText('居民')
  await snap(page, info, 'resident-home')

  await page.locator('#tile-me').click()
  await expect(page).toHaveURL(/#\/pages\/me\/index/)
  const profile = page.locator('#me-profile')
  await expect(profile).toContainText(resident!.name)
  // the server masks phone numbers; a full 11-digit number must never reach this page
  const text = (await profile.innerText()).replace(/\s+/g, '')
  expect(text).not.toMatch(/1\d{10}/)
  await snap(page, info, 'me')

  await page.locator('#logout').click()
  await page.getByText('退出', { exact: true }).last().click() // the modal's confirm button
  await expect(page).toHaveURL(/#\/pages\/login\/index|#\/$/)
  await expect(page.locator('#dev-accounts')).toBeVisible()
  await snap(page, info, 'after-logout')

  // the session is really gone: going back to the home page lands on login again
  await page.goto(`${baseUrl()}/#/pages/home/index`)
  await expect(page.locator('#dev-accounts')).toBeVisible()
})
