import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The master key when neither config nor env sets one: generated once (LiteLLM's key format,
 * `sk-` + 22 url-safe chars), kept in the data folder with owner-only permissions, and reported
 * as new only the first time so it is printed once.
 */
export async function storedMasterKey(
  dataDir: string,
): Promise<{ key: string; created: boolean; path: string }> {
  const path = join(dataDir, 'master_key')
  try {
    const key = (await readFile(path, 'utf8')).trim()
    if (key.startsWith('sk-')) return { key, created: false, path }
  } catch {
    // not there yet: create it below
  }
  const key = `sk-${randomBytes(16).toString('base64url')}`
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await writeFile(path, `${key}\n`, { mode: 0o600 })
  return { key, created: true, path }
}
