import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** What `wrangler deploy` ships, built by scripts/build.mjs. */
export const WORKER_BUNDLE = 'dist/worker.mjs'

function newestMtime(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

/**
 * The global setup already builds; rebuild only when the bundle is missing or older than its sources,
 * so a suite never rewrites dist/ under a concurrently running suite.
 */
export function ensureWorkerBundle(): void {
  let built = 0
  try {
    built = statSync(WORKER_BUNDLE).mtimeMs
  } catch {
    built = 0
  }
  const sources = Math.max(...['src', 'adapters/workers', 'scripts/build.mjs'].map(newestMtime))
  if (built < sources) execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
}
