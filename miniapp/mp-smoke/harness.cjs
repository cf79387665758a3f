/**
 * Runs the COMPILED mp-weixin output (dist/smoke/mp-weixin) outside WeChat: miniprogram-simulate renders
 * pages with WeChat's own template compiler (wcc) into jsdom, and a small `wx` shim stands in for the
 * client APIs. Its request() is real HTTP: calls to the build's API origin (https://api.jinlin.test) go to
 * the backend started by run.mjs (JINLIN_MP_SMOKE_BACKEND), like a hosts-file entry.
 */
'use strict'
const path = require('node:path')
const { JSDOM } = require('jsdom')

const ROOT = path.resolve(__dirname, '..', 'dist', 'smoke', 'mp-weixin')
const API_ORIGIN = 'https://api.jinlin.test'

function installDom() {
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true })
  global.window = dom.window
  for (const k of ['document', 'Node', 'Element', 'HTMLElement', 'MutationObserver']) global[k] = dom.window[k]
  // j-component builds events with the global constructors: they must be jsdom's, not Node's own
  global.Event = dom.window.Event
  global.CustomEvent = dom.window.CustomEvent
}

/** The `wx` object: what the uni runtime and our code call, recorded for assertions. */
function createWx(backendUrl) {
  const state = { toasts: [], navigations: [], requests: [], modals: [], sockets: [], subscribeAsks: [], unknownCalls: new Set() }
  const storage = new Map()
  const systemInfo = {
    platform: 'devtools', brand: 'devtools', model: 'iPhone 13', system: 'iOS 16.0', version: '8.0.50', SDKVersion: '3.4.0',
    language: 'zh_CN', pixelRatio: 3, screenWidth: 390, screenHeight: 844, windowWidth: 390, windowHeight: 844,
    statusBarHeight: 47, safeArea: { top: 47, bottom: 810, left: 0, right: 390, width: 390, height: 763 },
  }
  const api = {
    getSystemInfoSync: () => systemInfo,
    getWindowInfo: () => systemInfo,
    getDeviceInfo: () => systemInfo,
    getAppBaseInfo: () => systemInfo,
    getLaunchOptionsSync: () => ({ path: 'pages/login/index', query: {}, scene: 1001 }),
    canIUse: () => true,
    getStorageSync: (k) => (storage.has(k) ? JSON.parse(storage.get(k)) : ''),
    setStorageSync: (k, v) => void storage.set(k, JSON.stringify(v)),
    removeStorageSync: (k) => void storage.delete(k),
    showToast: (o) => {
      state.toasts.push(o.title)
      o.success && o.success({ errMsg: 'showToast:ok' })
    },
    showModal: (o) => {
      state.modals.push(o)
      setTimeout(() => o.success && o.success({ confirm: true, cancel: false }))
    },
    reLaunch: (o) => {
      state.navigations.push(['reLaunch', o.url])
      o.success && o.success({ errMsg: 'reLaunch:ok' })
    },
    navigateTo: (o) => {
      state.navigations.push(['navigateTo', o.url])
      o.success && o.success({ errMsg: 'navigateTo:ok' })
    },
    redirectTo: (o) => {
      state.navigations.push(['redirectTo', o.url])
      o.success && o.success({ errMsg: 'redirectTo:ok' })
    },
    getNetworkType: (o) => setTimeout(() => o.success && o.success({ networkType: 'wifi', errMsg: 'getNetworkType:ok' })),
    onNetworkStatusChange: () => undefined,
    getLocation: (o) =>
      setTimeout(() => {
        state.locationType = o.type
        o.success && o.success({ latitude: 36.06569, longitude: 103.72566, accuracy: 20, errMsg: 'getLocation:ok' })
      }),
    // the photo picker: answers with a temp file the test wrote (or a cancel when there is none)
    chooseImage: (o) =>
      setTimeout(() =>
        state.chosenImage
          ? o.success && o.success({ tempFilePaths: [state.chosenImage], errMsg: 'chooseImage:ok' })
          : o.fail && o.fail({ errMsg: 'chooseImage:fail cancel' }),
      ),
    // wx.uploadFile: multipart with one file field, like WeChat sends it; the body comes back as a string
    uploadFile: (o) => {
      const record = { url: o.url, method: 'POST', header: { ...(o.header || {}) }, data: { file: o.filePath, name: o.name }, upload: true }
      state.requests.push(record)
      const done = (res) => {
        record.response = res
        o.success && o.success(res)
        o.complete && o.complete(res)
      }
      const failed = (msg) => {
        o.fail && o.fail({ errMsg: `uploadFile:fail ${msg}` })
        o.complete && o.complete({ errMsg: `uploadFile:fail ${msg}` })
      }
      if (!o.url.startsWith(API_ORIGIN) || !backendUrl) {
        failed('no backend')
        return { abort() {}, onProgressUpdate() {} }
      }
      const form = new FormData()
      const bytes = require('node:fs').readFileSync(o.filePath)
      form.append(o.name, new Blob([bytes], { type: 'image/png' }), require('node:path').basename(o.filePath))
      for (const [k, v] of Object.entries(o.formData || {})) form.append(k, v)
      const headers = { ...record.header }
      delete headers['Content-Type']
      fetch(backendUrl + o.url.slice(API_ORIGIN.length), { method: 'POST', headers, body: form })
        .then(async (res) => done({ statusCode: res.status, data: await res.text(), errMsg: 'uploadFile:ok' }))
        .catch((err) => failed(err.message))
      return { abort() {}, onProgressUpdate() {} }
    },
    // WeChat's consent dialog: the person taps 允许 for every template (recorded with when it was asked)
    requestSubscribeMessage: (o) => {
      state.subscribeAsks.push({ ids: o.tmplIds, afterRequests: state.requests.length })
      const answer = { errMsg: 'requestSubscribeMessage:ok' }
      for (const id of o.tmplIds) answer[id] = 'accept'
      setTimeout(() => o.success && o.success(answer))
    },
    // A real WebSocket to the backend (the API origin maps to it, like request does), speaking wx's SocketTask API.
    connectSocket: (o) => connectSocket(o, backendUrl, state),
    login: (o) => setTimeout(() => o.success({ code: 'mp-smoke-code', errMsg: 'login:ok' })),
    request: (o) => {
      const record = { url: o.url, method: o.method || 'GET', header: { ...(o.header || {}) }, data: o.data }
      state.requests.push(record)
      const done = (res) => {
        record.response = res
        o.success && o.success(res)
        o.complete && o.complete(res)
      }
      const failed = (msg) => {
        o.fail && o.fail({ errMsg: `request:fail ${msg}` })
        o.complete && o.complete({ errMsg: `request:fail ${msg}` })
      }
      if (!o.url.startsWith(API_ORIGIN)) failed(`url outside the configured API origin: ${o.url}`)
      else if (!backendUrl) failed('no backend in this smoke run')
      else {
        const body = record.method === 'GET' || o.data === undefined ? undefined : JSON.stringify(o.data)
        fetch(backendUrl + o.url.slice(API_ORIGIN.length), { method: record.method, headers: record.header, body })
          .then(async (res) => {
            const text = await res.text()
            let data = text
            if (o.dataType === 'json' && text) {
              try {
                data = JSON.parse(text)
              } catch {
                // leave as text, like wx does
              }
            }
            done({ statusCode: res.status, data, header: Object.fromEntries(res.headers), errMsg: 'request:ok' })
          })
          .catch((err) => failed(err.message))
      }
      return { abort() {}, onHeadersReceived() {}, offHeadersReceived() {} }
    },
  }
  // Anything else the runtime touches (onAppShow, nextTick helpers…) is a recorded no-op.
  const wx = new Proxy(api, {
    get(target, key) {
      if (key in target) return target[key]
      if (typeof key !== 'string') return undefined
      state.unknownCalls.add(key)
      return () => undefined
    },
  })
  return { wx, state, storage }
}

function connectSocket(o, backendUrl, state) {
  const handlers = { open: [], message: [], close: [], error: [] }
  const record = { url: o.url, protocols: o.protocols || [], sent: [], received: [], closed: null, opened: false }
  state.sockets.push(record)
  const wsOrigin = API_ORIGIN.replace(/^https/, 'wss')
  let ws = null
  if (backendUrl && o.url.startsWith(wsOrigin)) {
    const WebSocket = require('ws') // jsdom's own dependency, already installed
    ws = new WebSocket(backendUrl.replace(/^http/, 'ws') + o.url.slice(wsOrigin.length), record.protocols)
    ws.on('open', () => {
      record.opened = true
      handlers.open.forEach((fn) => fn({}))
    })
    ws.on('message', (data) => {
      const text = data.toString()
      record.received.push(JSON.parse(text))
      handlers.message.forEach((fn) => fn({ data: text }))
    })
    ws.on('close', (code, reason) => {
      record.closed = { code, reason: reason.toString() }
      handlers.close.forEach((fn) => fn({ code, reason: reason.toString() }))
    })
    ws.on('error', (err) => handlers.error.forEach((fn) => fn({ errMsg: err.message })))
  } else {
    setTimeout(() => handlers.error.forEach((fn) => fn({ errMsg: 'connectSocket:fail no backend' })))
  }
  if (o.complete) setTimeout(() => o.complete({ errMsg: 'connectSocket:ok' }))
  return {
    onOpen: (fn) => handlers.open.push(fn),
    onMessage: (fn) => handlers.message.push(fn),
    onClose: (fn) => handlers.close.push(fn),
    onError: (fn) => handlers.error.push(fn),
    send: (x) => {
      record.sent.push(JSON.parse(x.data))
      if (ws && ws.readyState === 1) ws.send(x.data)
    },
    close: (x = {}) => {
      if (ws) ws.close(x.code || 1000, x.reason)
    },
  }
}


/**
 * Boot the compiled app once per process: globals, app.js (creates the Vue app and Pinia), App.onLaunch.
 * @param {{ backendUrl?: string, storage?: Record<string, unknown> }} opts
 */
function bootMiniProgram(opts = {}) {
  installDom()
  const { wx, state, storage } = createWx(opts.backendUrl)
  for (const [k, v] of Object.entries(opts.storage || {})) storage.set(k, JSON.stringify(v))
  global.wx = wx
  // Order matters: vendor.js wraps the global Page/Component constructors when it loads,
  // so miniprogram-simulate (which defines Component) must come first.
  const simulate = require('miniprogram-simulate')
  global.Page = () => {
    throw new Error('uni-app pages should be registered with Component(), not Page()')
  }
  let app = null
  global.App = (options) => {
    app = options
  }
  global.getApp = () => app
  global.getCurrentPages = () => []
  require(path.join(ROOT, 'app.js'))
  if (!app) throw new Error('app.js did not call App()')
  app.onLaunch.call(app, wx.getLaunchOptionsSync())

  /** Render a page the way WeChat opens one: attach, then onLoad(query) and onShow(). */
  function openPage(route, query = {}) {
    const id = simulate.load(path.join(ROOT, route), { rootPath: ROOT })
    const page = simulate.render(id)
    page.instance.route = route // uni's runtime tells pages from components by `route`
    page.attach(document.createElement('parent-wrapper'))
    page.instance.onLoad(query)
    if (page.instance.onShow) page.instance.onShow()
    return page
  }

  return { openPage, state, storage, simulate, wx }
}

/** Wait until `check()` is truthy (event handlers and requests are asynchronous). */
async function until(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

module.exports = { bootMiniProgram, until, ROOT, API_ORIGIN }
