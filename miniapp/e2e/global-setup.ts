/**
 * Starts the real backend for the browser tests (see scripts/backend-server.cjs): migrated and seeded
 * throwaway SQLite, serving the H5 build on a free port. Tests read the address from JINLIN_E2E_BASE_URL;
 * the returned function stops the server and removes the database.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { H5_DIR, MINIAPP, startBackend } from '../scripts/backend-server.cjs'

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(join(H5_DIR, 'index.html'))) {
    throw new Error(`no H5 build in ${H5_DIR}: run \`npm run build:h5\` (npm run test:e2e does it for you)`)
  }
  const backend = await startBackend({ logFile: join(MINIAPP, 'test-artifacts', 'e2e-backend.log') })
  process.env.JINLIN_E2E_BASE_URL = backend.baseUrl
  return backend.stop
}
