import pg from 'pg'
import { toParams, VALUE_PARSERS } from '../../../src/store/pg-values'
import type { Row, Sql, Statement } from '../../../src/store/sql'

export interface PgSqlOptions {
  /** Pool size (default 10). */
  max?: number
  /** Called when an idle pooled connection fails (the pool drops it and the next query reconnects). */
  onIdleError?: (error: Error) => void
}

/**
 * Parsers for this pool only: pg's `types.setTypeParser` would change every pg user in the process
 * (including test fakes that want raw text).
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' && VALUE_PARSERS[oid]
      ? VALUE_PARSERS[oid]
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

/**
 * Postgres over TCP with node-postgres. Sessions run in UTC with ISO dates, like Neon's: a `timestamp`
 * compared with `now()` (timestamptz) is converted using the session time zone, so UTC keeps the
 * UTC-wall-clock columns correct whatever the server's default. Options in the URL win.
 */
export function pgSql(connectionString: string, opts: PgSqlOptions = {}): Sql {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    types: TYPES,
    options: '-c TimeZone=UTC -c DateStyle=ISO,MDY',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A connection whose peer vanished without a reset (failover, dropped route) would otherwise
    // hang a query until the kernel gives up (~15 min). A timed-out query fails, pg discards that
    // client, and the caller retries on a fresh connection. Our statements are small (a spend batch
    // is ≤ 2,000 rows), so 10 s is far above their normal run time.
    query_timeout: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  })
  // Without a listener, an idle connection dropped by the server is an uncaught 'error' that ends Node.
  pool.on('error', (error) => opts.onIdleError?.(error))

  return {
    kind: 'pg',
    async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
      const result = await pool.query<T>(text, toParams(params))
      return result.rows
    },
    async transaction(statements: readonly Statement[]): Promise<Row[][]> {
      if (statements.length === 0) return []
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const results: Row[][] = []
        for (const s of statements) results.push((await client.query<Row>(s.text, toParams(s.params))).rows)
        await client.query('COMMIT')
        return results
      } catch (error) {
        // A failed ROLLBACK means the connection is unusable: release it as broken so the pool drops it.
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError
        })
        throw error
      } finally {
        client.release(broken)
      }
    },
    close: () => pool.end(),
  }
}
