/**
 * A Redis logical database for one test file alone, for suites whose gateway uses unprefixed Redis
 * keys (`keys:epoch`, `spend:key:<hash>`) and so cannot share db 0 with suites running in parallel.
 */
import { Redis } from 'ioredis'
import { redisUrl } from './services'

/** The marker every Redis suite claims its logical db with. */
const CLAIM_KEY = 'multillm-test:claimed-by'

export interface ClaimedRedisDb {
  /** The logical database, 2..15. */
  db: number
  /** `redis://127.0.0.1:6379/<db>`. */
  url: string
  /** Connected to `db`; holds the claim. */
  client: Redis
  /** Flushes the db (the claim marker with it) and disconnects, even when the flush fails. */
  release(): Promise<void>
}

/**
 * Claims a db in 2..15: an empty one with SET NX (a marker that expires, in case a run dies before
 * its afterAll), else any unclaimed one; the db is flushed before it is handed over.
 */
export async function claimRedisDb(owner: string): Promise<ClaimedRedisDb> {
  const candidates = Array.from({ length: 14 }, (_, i) => i + 2).sort(() => Math.random() - 0.5)
  for (const emptyOnly of [true, false]) {
    for (const db of candidates) {
      const url = `${redisUrl}/${db}`
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      client.on('error', () => {})
      await client.connect()
      if (
        (!emptyOnly || (await client.dbsize()) === 0) &&
        (await client.set(CLAIM_KEY, owner, 'EX', 600, 'NX'))
      ) {
        await client.flushdb()
        await client.set(CLAIM_KEY, owner, 'EX', 600)
        const release = async () => {
          try {
            await client.flushdb()
          } finally {
            client.disconnect()
          }
        }
        return { db, url, client, release }
      }
      client.disconnect()
    }
  }
  throw new Error('no free Redis logical database in 2..15')
}
