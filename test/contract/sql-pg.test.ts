import { describe } from 'vitest'
import { pgSql } from '../../adapters/node/stores/pg-sql'
import { freshDatabase, postgres, requireOrSkip } from '../helpers/services'
import { sqlContract } from './sql.contract'

describe.runIf(requireOrSkip('sql contract: pg', postgres))('pg over TCP', () => {
  sqlContract('pg', 'pg', async () => {
    const database = await freshDatabase()
    return { sql: pgSql(database.url), another: () => pgSql(database.url), drop: database.drop }
  })
})
