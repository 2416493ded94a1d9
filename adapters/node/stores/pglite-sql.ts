import { PGlite } from '@electric-sql/pglite'
import { toParams, VALUE_PARSERS } from '../../../src/store/pg-values'
import type { Row, Sql, Statement } from '../../../src/store/sql'

/**
 * Embedded Postgres (PGlite, WebAssembly) in a directory, or in memory with `memory://`: the
 * zero-setup default. PGlite is a single connection; it already queues queries and transactions
 * behind one mutex, so concurrent callers are serialised and a transaction never interleaves with
 * another caller's query. Its parsers also apply to arrays of the overridden types.
 */
export function pgliteSql(dataDir: string): Sql {
  const db = new PGlite(dataDir, { parsers: { ...VALUE_PARSERS } })
  // PGlite's default is already UTC; set it anyway so a server-wide change cannot shift timestamps.
  const ready = db.exec("SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'")
  // Not awaited by anyone until the first query: keep a failed start from being an unhandled rejection.
  ready.catch(() => {})

  return {
    kind: 'pglite',
    async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
      await ready
      return (await db.query<T>(text, toParams(params))).rows
    },
    async transaction(statements: readonly Statement[]): Promise<Row[][]> {
      if (statements.length === 0) return []
      await ready
      // PGlite's transaction() rolls back and rethrows when the callback throws.
      return db.transaction(async (tx) => {
        const results: Row[][] = []
        for (const s of statements) results.push((await tx.query<Row>(s.text, toParams(s.params))).rows)
        return results
      })
    },
    close: async () => {
      await ready.catch(() => {})
      if (!db.closed) await db.close()
    },
  }
}
