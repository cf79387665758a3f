import { expect, test } from '@playwright/test'
import { snap } from './steps'
import { demoAccounts, expectBigTargets, expectNoHorizontalOverflow, only, phone, signIn } from './support'

/**
 * 适老化: every page a resident can open, at 特大字 (200 % text) and in high contrast: nothing wider than the
 * screen, every button at least 44 px tall, and the high-contrast theme really is black on white.
 */
test('every resident page works at 200 % text and in high contrast', async ({ browser }, info) => {
  test.setTimeout(90_000)
  const resident = only(await demoAccounts(), 'resident', 0)
  const ctx = await phone(browser)
  const page = await ctx.newPage()
  await signIn(page, resident)
  await page.locator('#toggle-xlarge-text').click()
  await page.locator('#toggle-high-contrast').click()
  await expect(page.locator('#toggle-high-contrast')).toContainText('已开启')
  await expectNoHorizontalOverflow(page, 'home')
  await snap(page, info, 'home')

  const tiles: [string, string][] = [
    ['report', '1. 是什么问题'],
    ['my-reports', '我要报一件新的事'],
    ['help', '需要什么帮助'],
    ['market', '我的爱心积分'],
    ['orders', ''],
    ['points', '爱心积分'],
    ['board', '响应率'],
    ['inbox', '未读'],
    ['me', '我的身份'],
  ]
  for (const [tile, text] of tiles) {
    await page.goto('/#/pages/home/index')
    await page.locator(`#tile-${tile}`).click()
    await expect(page).not.toHaveURL(/pages\/home\/index/)
    if (text) await expect(page.locator('uni-page-body')).toContainText(text)
    await page.waitForLoadState('networkidle')
    await expectNoHorizontalOverflow(page, tile)
    await expectBigTargets(page, tile)
    await snap(page, info, tile)
  }

  // high contrast: the primary button is black with white text, body text black
  await page.goto('/#/pages/home/index')
  await page.locator('#tile-report').click()
  const colours = await page.locator('#report-submit').evaluate((el) => {
    const s = getComputedStyle(el)
    return { bg: s.backgroundColor, fg: s.color }
  })
  expect(colours).toEqual({ bg: 'rgb(0, 0, 0)', fg: 'rgb(255, 255, 255)' })
  await ctx.close()
})
