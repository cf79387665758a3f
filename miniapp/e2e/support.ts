/**
 * Helpers for the journeys: phones (browser contexts with a mobile viewport, a position and permissions), signing
 * in through the real login page, and a small API client for the setup a journey needs that the demo data lacks
 * (a store with stock, registered volunteers). Setup goes through the public API as staff, never the database.
 */
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { gcj02ToWgs84 } from '../src/domain/geo'
import { baseUrl } from './steps'

export interface DevAccount {
  user_id: number
  name: string
  roles: string[]
  label: string
}

export async function demoAccounts(): Promise<DevAccount[]> {
  const res = await fetch(`${baseUrl()}/api/v1/auth/dev-login`)
  expect(res.status, 'the dev-login list exists in development').toBe(200)
  return ((await res.json()) as { accounts: DevAccount[] }).accounts
}

/** The first demo account that holds exactly this one role (the seed's demo people). */
export function only(accounts: DevAccount[], role: string, nth = 0): DevAccount {
  const found = accounts.filter((a) => a.roles.length === 1 && a.roles[0] === role)[nth]
  expect(found, `the demo seed has a ${role} (#${nth + 1})`).toBeTruthy()
  return found!
}

/** An API client signed in as `userId` (dev login), for setup and for checking what the server stored. */
export async function apiAs(userId: number) {
  const login = await fetch(`${baseUrl()}/api/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  })
  expect(login.status).toBe(200)
  const { access_token } = (await login.json()) as { access_token: string }
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text}`)
    return (text ? JSON.parse(text) : undefined) as T
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
  }
}

/** A phone: 390×844, touch, Chinese, with location permission at a GCJ-02 point (the browser gets WGS-84). */
export async function phone(browser: Browser, at?: { lat: number; lng: number }): Promise<BrowserContext> {
  const wgs = at ? gcj02ToWgs84(at.lat, at.lng) : undefined
  return browser.newContext({
    baseURL: baseUrl(),
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    ...(wgs ? { geolocation: { latitude: wgs.lat, longitude: wgs.lng, accuracy: 15 }, permissions: ['geolocation'] } : {}),
  })
}

/** Moves a phone (e.g. the volunteer walking to the door). */
export async function moveTo(ctx: BrowserContext, at: { lat: number; lng: number }): Promise<void> {
  const wgs = gcj02ToWgs84(at.lat, at.lng)
  await ctx.setGeolocation({ latitude: wgs.lat, longitude: wgs.lng, accuracy: 15 })
}

/** Sign in by tapping the demo account on the real login page; lands on the home page. */
export async function signIn(page: Page, account: DevAccount): Promise<void> {
  await page.goto('/')
  await page.locator(`#dev-account-${account.user_id}`).click()
  await expect(page).toHaveURL(/#\/pages\/home\/index/)
  await expect(page.locator('#home-greeting')).toContainText(account.name)
}

/** uni renders <textarea>/<input> inside custom elements: fill the real control. */
export const field = (page: Page, id: string) => page.locator(`#${id} textarea, #${id} input`).first()

/** A small real PNG drawn by the browser (the backend re-encodes photos, so it must be a decodable image). */
export async function pngFixture(page: Page): Promise<Buffer> {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas')
    c.width = 160
    c.height = 120
    const g = c.getContext('2d')!
    g.fillStyle = '#1d4ed8'
    g.fillRect(0, 0, 160, 120)
    g.fillStyle = '#fbbf24'
    g.beginPath()
    g.arc(80, 60, 30, 0, Math.PI * 2)
    g.fill()
    return c.toDataURL('image/png').split(',')[1]
  })
  return Buffer.from(b64, 'base64')
}

/** Tap a photo button and answer the file chooser uni.chooseImage opens on H5. */
export async function attachPhoto(page: Page, buttonId: string, name = 'photo.png'): Promise<void> {
  const buffer = await pngFixture(page)
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator(`#${buttonId}`).click()])
  await chooser.setFiles({ name, mimeType: 'image/png', buffer })
}

/** Nothing on the page is wider than the screen (the 200 % text check). */
export async function expectNoHorizontalOverflow(page: Page, what: string): Promise<void> {
  const { scroll, width, wide } = await page.evaluate(() => {
    const w = window.innerWidth
    const offenders = Array.from(document.querySelectorAll('uni-page-body *'))
      .filter((el) => {
        const r = el.getBoundingClientRect()
        // uni's textarea keeps hidden measuring boxes off-screen on purpose: only what can be seen counts
        return r.width > 0 && (r.right > w + 1 || r.left < -1) && getComputedStyle(el).visibility !== 'hidden'
      })
      .slice(0, 5)
      .map((el) => {
        const owner = el.closest('[id]')
        const r = el.getBoundingClientRect()
        return `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 30)} in #${owner?.id ?? '?'} (${Math.round(r.left)}–${Math.round(r.right)})`
      })
    return { scroll: document.documentElement.scrollWidth, width: w, wide: offenders }
  })
  expect(wide, `${what}: elements wider than the screen`).toEqual([])
  expect(scroll, `${what}: the page scrolls sideways`).toBeLessThanOrEqual(width + 1)
}

/** Every button on the page is at least 44 CSS px tall (88rpx on a 375–414 px wide phone). */
export async function expectBigTargets(page: Page, what: string): Promise<void> {
  const small = await page.evaluate(() =>
    Array.from(document.querySelectorAll('uni-page-body uni-button'))
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .map((el) => ({ id: el.id, text: (el.textContent ?? '').trim().slice(0, 12), h: el.getBoundingClientRect().height }))
      .filter((b) => b.h < 44),
  )
  expect(small, `${what}: buttons smaller than 44 px`).toEqual([])
}
