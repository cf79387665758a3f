/** Page paths used in code, kept next to pages.json so a rename breaks one place (tested). */
export const LOGIN_PAGE = '/pages/login/index'
export const HOME_PAGE = '/pages/home/index'
export const ME_PAGE = '/pages/me/index'

export const PAGES = {
  reportNew: '/pages/reports/new',
  reportsMine: '/pages/reports/mine',
  reportDetail: '/pages/reports/detail',
  reportQueue: '/pages/reports/queue',
  whistles: '/pages/reports/whistle',
  board: '/pages/board/index',
  store: '/pages/store/index',
  orders: '/pages/store/orders',
  help: '/pages/help/index',
  ledger: '/pages/ledger/index',
  inbox: '/pages/notifications/index',
  taskHall: '/pages/tasks/hall',
  taskDetail: '/pages/tasks/detail',
  tasksMine: '/pages/tasks/mine',
  volunteerRegister: '/pages/volunteer/register',
  visitPlan: '/pages/visits/plan',
  visitMonth: '/pages/visits/month',
  onBehalf: '/pages/staff/on-behalf',
  stock: '/pages/staff/stock',
  dashboard: '/pages/staff/dashboard',
} as const

/** `/pages/x/y` + query → a url uni.navigateTo accepts. */
export function pageUrl(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const q = Object.entries(query)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&')
  return q ? `${path}?${q}` : path
}

/**
 * Where an inbox item's link (`pages/reports/detail?id=7`, written by the backend) leads in this app, or null
 * when the app has no such page (the item is still shown, just not opened).
 */
export function linkTarget(link: string | null | undefined): string | null {
  if (!link) return null
  const [path, query] = link.replace(/^\//, '').split('?')
  const page = `/${path}`
  if (!(Object.values(PAGES) as string[]).includes(page) && page !== HOME_PAGE && page !== ME_PAGE) return null
  return query ? `${page}?${query}` : page
}

/** A text value from onLoad's query: mp-weixin hands it over still percent-encoded, H5 already decoded. */
export function queryText(v: string | undefined): string {
  if (!v) return ''
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}
