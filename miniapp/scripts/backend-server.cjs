/**
 * Start the real Jinlin backend for browser and mini-program smoke tests: a throwaway SQLite database
 * (migrated and seeded with the demo street), `python -m backend.cli serve` on a free port serving the
 * H5 build, ready once GET /healthz answers 200. Used by e2e/global-setup.ts and mp-smoke/run.mjs.
 *
 * The interpreter is $JINLIN_PYTHON (default python3); commands run from the repository root.
 */
'use strict'
const { spawn, spawnSync } = require('node:child_process')
const { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs')
const { createServer } = require('node:net')
const { tmpdir } = require('node:os')
const { dirname, join, resolve } = require('node:path')

const MINIAPP = resolve(__dirname, '..')
const REPO = resolve(MINIAPP, '..')
const H5_DIR = join(MINIAPP, 'dist', 'build', 'h5')
const HEALTH_TIMEOUT_MS = 60_000

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.once('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => ok(port))
    })
  })
}

function tail(file, lines = 40) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)'
}

function runCli(python, args, env) {
  const res = spawnSync(python, ['-m', 'backend.cli', ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 180_000 })
  if (res.error || res.status !== 0) {
    throw new Error(
      `backend command failed: ${python} -m backend.cli ${args.join(' ')} (exit ${res.status})\n` +
        `${res.error ? res.error.message : ''}\n${(res.stdout || '').slice(-2000)}\n${(res.stderr || '').slice(-4000)}\n` +
        'Is the backend installed for this interpreter? Set JINLIN_PYTHON (e.g. to ../.venv/bin/python).',
    )
  }
}

function stop(server) {
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

/**
 * @param {{ logFile: string }} opts where the server's stdout/stderr go
 * @returns {Promise<{ baseUrl: string, stop: () => Promise<void> }>}
 */
async function startBackend({ logFile }) {
  const python = process.env.JINLIN_PYTHON || 'python3'
  const dir = mkdtempSync(join(tmpdir(), 'jinlin-test-'))
  const env = {
    ...process.env,
    JINLIN_ENV: 'development',
    JINLIN_DATABASE_URL: `sqlite://${join(dir, 'e2e.sqlite3')}`,
    JINLIN_H5_DIR: H5_DIR,
  }
  try {
    runCli(python, ['migrate'], env)
    runCli(python, ['seed-demo'], env)
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }

  const port = await freePort()
  mkdirSync(dirname(logFile), { recursive: true })
  const log = createWriteStream(logFile)
  const server = spawn(python, ['-m', 'backend.cli', 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.pipe(log)
  server.stderr.pipe(log)
  const baseUrl = `http://127.0.0.1:${port}`
  const cleanup = async () => {
    await stop(server)
    log.end()
    rmSync(dir, { recursive: true, force: true })
  }

  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  for (;;) {
    if (server.exitCode !== null) {
      await cleanup()
      throw new Error(`backend exited with ${server.exitCode} before /healthz answered:\n${tail(logFile)}`)
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`)
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await cleanup()
      throw new Error(`backend did not answer 200 on /healthz within ${HEALTH_TIMEOUT_MS / 1000}s:\n${tail(logFile)}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { baseUrl, stop: cleanup }
}

module.exports = { startBackend, H5_DIR, MINIAPP, REPO }
