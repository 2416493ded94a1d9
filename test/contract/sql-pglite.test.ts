import { pgliteSql } from '../../adapters/node/stores/pglite-sql'
import type { Sql } from '../../src/store/sql'
import { sqlContract } from './sql.contract'

/** PGlite is one connection per instance, so "another handle" is the same instance (close is a no-op). */
sqlContract('pglite', 'pglite', async () => {
  const sql = pgliteSql('memory://')
  const same: Sql = { ...sql, close: async () => {} }
  return { sql, another: () => same, drop: async () => {} }
})
