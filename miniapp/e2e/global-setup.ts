/**
 * Starts the real backend for the browser tests: migrate, seed the demo street, then serve the H5 build
 * on a free port, all against a throwaway SQLite file. Tests read the address from JINLIN_E2E_BASE_URL.
 * The returned function stops the server and removes the temporary directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const MINIAPP = resolve(__dirname, '..') // loaded as CommonJS by Playwright
const REPO = resolve(MINIAPP, '..')
const H5_DIR = join(MINIAPP, 'dist', 'build', 'h5')
const ARTIFACTS = join(MINIAPP, 'test-artifacts')
const HEALTH_TIMEOUT_MS = 60_000

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.once('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => ok(port))
    })
  })
}

function runCli(python: string, args: string[], env: NodeJS.ProcessEnv): void {
  const res = spawnSync(python, ['-m', 'backend.cli', ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 120_000 })
  if (res.error || res.status !== 0) {
    throw new Error(
      `backend command failed: ${python} -m backend.cli ${args.join(' ')} (exit ${res.status})\n` +
        `${res.error?.message ?? ''}\n${res.stdout ?? ''}\n${res.stderr ?? ''}\n` +
        'Is the backend installed for this interpreter? Set JINLIN_PYTHON (e.g. to .venv/bin/python).',
    )
  }
}

async function waitHealthy(url: string, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`backend exited with ${server.exitCode} before /healthz answered:\n${tail(logFile)}`)
    }
    try {
      const res = await fetch(url)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`backend did not answer 200 on ${url} within ${HEALTH_TIMEOUT_MS / 1000}s:\n${tail(logFile)}`)
}

function tail(file: string, lines = 40): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)'
}

function stop(server: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (server.exitCode !== null || server.signalCode !== null) return done()
    const killer = setTimeout(() => server.kill('SIGKILL'), 5_000)
    server.once('exit', () => {
      clearTimeout(killer)
      done()
    })
    server.kill('SIGTERM')
  })
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(join(H5_DIR, 'index.html'))) {
    throw new Error(`no H5 build in ${H5_DIR}: run \`npm run build:h5\` (npm run test:e2e does it for you)`)
  }
  mkdirSync(ARTIFACTS, { recursive: true })
  const python = process.env.JINLIN_PYTHON || 'python3'
  const dir = mkdtempSync(join(tmpdir(), 'jinlin-e2e-'))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JINLIN_ENV: 'development',
    JINLIN_DATABASE_URL: `sqlite://${join(dir, 'e2e.sqlite3')}`,
    JINLIN_H5_DIR: H5_DIR,
  }

  runCli(python, ['migrate'], env)
  runCli(python, ['seed-demo'], env)

  const port = await freePort()
  const logFile = join(ARTIFACTS, 'backend.log')
  const log = createWriteStream(logFile)
  const server = spawn(python, ['-m', 'backend.cli', 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout?.pipe(log)
  server.stderr?.pipe(log)

  const baseUrl = `http://127.0.0.1:${port}`
  try {
    await waitHealthy(`${baseUrl}/healthz`, server, logFile)
  } catch (err) {
    await stop(server)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  process.env.JINLIN_E2E_BASE_URL = baseUrl

  return async () => {
    await stop(server)
    log.end()
    rmSync(dir, { recursive: true, force: true })
  }
}
