import { pgSql } from '../../adapters/node/stores/pg-sql'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import type { Counters } from '../../src/store/counters'
import { migrate } from '../../src/store/migrate'
import type { Sql } from '../../src/store/sql'
import { redisUrl } from './services'

export interface InstanceStores {
  /** One Postgres pool per instance, all on the same database. */
  sqls: Sql[]
  /** One Redis connection per instance, all on the same Redis. */
  redises: Counters[]
}

/**
 * The stores of `count` gateway instances on one Postgres database and one Redis, each with its own
 * pool and connection, so statements really run concurrently (row locks and all). The first pool
 * migrates the database.
 */
export async function openInstanceStores(databaseUrl: string, count: number): Promise<InstanceStores> {
  const stores: InstanceStores = { sqls: [], redises: [] }
  try {
    for (let i = 0; i < count; i++) {
      stores.sqls.push(pgSql(databaseUrl))
      stores.redises.push(await redisCounters(redisUrl))
    }
    await migrate(stores.sqls[0] as Sql)
    return stores
  } catch (error) {
    await closeInstanceStores(stores)
    throw error
  }
}

/** Closes every Redis connection, then every Postgres pool. */
export async function closeInstanceStores({ sqls, redises }: InstanceStores): Promise<void> {
  for (const c of redises) await c.close()
  for (const s of sqls) await s.close()
}
