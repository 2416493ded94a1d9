import type { Counters } from '../../../src/store/counters'
import { memoryCounters } from '../../../src/store/memory-counters'
import type { CountersSettings, SqlSettings, StoreSettings } from '../../../src/store/select'
import type { Sql } from '../../../src/store/sql'
import { upstashCounters } from '../../../src/store/upstash-counters'
import { pgSql } from './pg-sql'
import { pgliteSql } from './pglite-sql'
import { redisCounters } from './redis-counters'

export interface NodeStores {
  sql: Sql
  counters: Counters
}

export interface OpenNodeStoresOptions {
  /** The embedded database's directory (`memory://` for a throwaway one). */
  dataDir: string
}

/** A store named in the settings that cannot be used; the message never contains a password. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}

/**
 * Opens the stores the settings name and proves they answer (`SELECT 1`, a GET), so a wrong URL or a
 * down database stops startup with one clear line instead of failing the first requests.
 */
export async function openNodeStores(
  settings: StoreSettings,
  opts: OpenNodeStoresOptions,
): Promise<NodeStores> {
  const sql = await openSql(settings.sql, opts.dataDir)
  try {
    return { sql, counters: await openCounters(settings.counters) }
  } catch (error) {
    await sql.close().catch(() => {})
    throw error
  }
}

async function openSql(settings: SqlSettings, dataDir: string): Promise<Sql> {
  const [sql, where] =
    settings.kind === 'postgres'
      ? [pgSql(settings.url), `Postgres at ${describeUrl(settings.url)}`]
      : [pgliteSql(dataDir), `the embedded database in ${dataDir}`]
  try {
    await sql.query('SELECT 1')
    return sql
  } catch (error) {
    await sql.close().catch(() => {})
    throw new StoreUnavailableError(`cannot reach ${where}: ${reason(error)}`, { cause: error })
  }
}

async function openCounters(settings: CountersSettings): Promise<Counters> {
  if (settings.kind === 'memory') return memoryCounters()
  const where =
    settings.kind === 'upstash'
      ? `Upstash at ${describeUrl(settings.url)}`
      : `Redis at ${settings.url ? describeUrl(settings.url) : `${settings.host ?? '127.0.0.1'}:${settings.port ?? 6379}/${settings.db ?? 0}`}`
  let counters: Counters | undefined
  try {
    counters = settings.kind === 'upstash' ? upstashCounters(settings) : await redisCounters(settings)
    await counters.get('multillm:startup-check')
    return counters
  } catch (error) {
    await counters?.close().catch(() => {})
    throw new StoreUnavailableError(`cannot reach ${where}: ${reason(error)}`, { cause: error })
  }
}

/** `host:port/path` of a URL: what an operator needs to find the store, without user or password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return '(unparsable URL)'
  }
}

/** Node reports a refused connection to a host with several addresses as an AggregateError without a message. */
function reason(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return reason(error.errors[0])
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return error.message || (typeof code === 'string' ? code : error.name)
  }
  return String(error)
}
