import { afterAll, describe, expect, it } from 'vitest'
import { neonSql } from '../../src/store/neon-sql'
import { type FakeNeon, startFakeNeon } from '../fakes/neon-http'
import { freshDatabase, postgres, requireOrSkip } from '../helpers/services'
import { sqlContract } from './sql.contract'

const fakes: FakeNeon[] = []
afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.close()))
})

/** A fake Neon endpoint (test/fakes/neon-http.ts) in front of a fresh database. */
async function neonDatabase() {
  const database = await freshDatabase()
  const fake = await startFakeNeon({ postgresUrl: database.url })
  fakes.push(fake)
  const open = () => neonSql(fake.connectionString, { fetchEndpoint: fake.fetchEndpoint })
  return {
    fake,
    sql: open(),
    another: open,
    drop: async () => {
      await fake.close()
      await database.drop()
    },
  }
}

describe.runIf(requireOrSkip('sql contract: neon-http', postgres))('Neon HTTP via the fake endpoint', () => {
  sqlContract('neon-http', 'neon-http', neonDatabase)

  describe('endpoint routing', () => {
    it('sends each instance to its own endpoint, without touching the global neonConfig', async () => {
      const { neonConfig } = await import('@neondatabase/serverless')
      const { fake, drop } = await neonDatabase()
      try {
        const seen: Array<[string, number | string]> = []
        const routed = neonSql(fake.connectionString, {
          fetchEndpoint: (host, port) => {
            seen.push([host, port])
            return fake.fetchEndpoint
          },
        })
        const nowhere = neonSql(fake.connectionString, { fetchEndpoint: 'http://127.0.0.1:9/sql' })
        const counted: string[] = []
        const viaFetch = neonSql(fake.connectionString, {
          fetchEndpoint: fake.fetchEndpoint,
          fetch: (input, init) => {
            counted.push(String(input))
            return fetch(input, init)
          },
        })
        expect(await routed.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
        await expect(nowhere.query('SELECT 1')).rejects.toThrow(/Error connecting to database/)
        expect(await viaFetch.transaction([{ text: 'SELECT 2 AS two' }])).toEqual([[{ two: 2 }]])
        const url = new URL(fake.connectionString)
        expect(seen).toEqual([[url.hostname, url.port]])
        expect(counted).toEqual([fake.fetchEndpoint])
        expect(neonConfig.fetchEndpoint).toBe(neonConfig.defaults.fetchEndpoint)
      } finally {
        await drop()
      }
    })
  })
})
