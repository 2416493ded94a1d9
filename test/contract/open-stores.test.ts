/** Opening the Node stores from settings, and the startup errors for unreachable ones. */
import { describe, expect, it } from 'vitest'
import { openNodeStores } from '../../adapters/node/stores/open-stores'
import { postgres, postgresUrl, redis, redisUrl, requireOrSkip } from '../helpers/services'

describe('openNodeStores', () => {
  it('opens the embedded database and memory counters with no settings', async () => {
    const stores = await openNodeStores(
      { sql: { kind: 'embedded' }, counters: { kind: 'memory' } },
      { dataDir: 'memory://' },
    )
    try {
      expect([stores.sql.kind, stores.counters.kind]).toEqual(['pglite', 'memory'])
      expect(await stores.sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
    } finally {
      await stores.sql.close()
      await stores.counters.close()
    }
  })

  it('stops with a clear error, without the password, when Postgres is unreachable', async () => {
    const opening = openNodeStores(
      {
        sql: { kind: 'postgres', url: 'postgres://app:s3cret@127.0.0.1:9/gateway' },
        counters: { kind: 'memory' },
      },
      { dataDir: 'memory://' },
    )
    await expect(opening).rejects.toThrow(/^cannot reach Postgres at 127\.0\.0\.1:9\/gateway: .*ECONNREFUSED/)
    await expect(opening).rejects.toSatisfy((error: Error) => !error.message.includes('s3cret'))
  })

  it('stops with a clear error, without the password, when Redis is unreachable', async () => {
    const opening = openNodeStores(
      {
        sql: { kind: 'embedded' },
        counters: { kind: 'redis', host: '127.0.0.1', port: 9, password: 's3cret' },
      },
      { dataDir: 'memory://' },
    )
    await expect(opening).rejects.toThrow(/^cannot reach Redis at 127\.0\.0\.1:9\/0: /)
    await expect(opening).rejects.toSatisfy((error: Error) => !error.message.includes('s3cret'))
  })

  it('stops with a clear error, without the token, when Upstash is unreachable', async () => {
    const opening = openNodeStores(
      {
        sql: { kind: 'embedded' },
        counters: { kind: 'upstash', url: 'http://127.0.0.1:9', token: 's3cret' },
      },
      { dataDir: 'memory://' },
    )
    await expect(opening).rejects.toThrow(/^cannot reach Upstash at 127\.0\.0\.1:9: /)
    await expect(opening).rejects.toSatisfy((error: Error) => !error.message.includes('s3cret'))
  })

  describe.runIf(requireOrSkip('openNodeStores with Postgres and Redis', postgres, redis))(
    'with services',
    () => {
      it('opens pg and Redis and checks both answer', async () => {
        const stores = await openNodeStores(
          {
            sql: { kind: 'postgres', url: postgresUrl('postgres') },
            counters: { kind: 'redis', url: redisUrl },
          },
          { dataDir: 'memory://' },
        )
        try {
          expect([stores.sql.kind, stores.counters.kind]).toEqual(['pg', 'redis'])
          expect(await stores.sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
        } finally {
          await stores.sql.close()
          await stores.counters.close()
        }
      })
    },
  )
})
