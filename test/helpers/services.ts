/**
 * The real Postgres and Redis the integration suites use, found by a quick TCP connect at import.
 *
 * A suite whose service is missing does not run and says so on stderr; with REQUIRE_SERVICES set (CI),
 * it fails instead, so a broken service cannot turn into a silently green run.
 */
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import pg from 'pg'
import { describe, it } from 'vitest'

export interface Service {
  available: boolean
  /** e.g. `Postgres on 127.0.0.1:5432`. */
  description: string
}

function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

const [postgresUp, redisUp] = await Promise.all([reachable('127.0.0.1', 5432), reachable('127.0.0.1', 6379)])

export const postgres: Service = { available: postgresUp, description: 'Postgres on 127.0.0.1:5432' }
export const redis: Service = { available: redisUp, description: 'Redis on 127.0.0.1:6379' }

export const postgresUrl = (db: string): string => `postgres://postgres@127.0.0.1:5432/${db}`
export const redisUrl = 'redis://127.0.0.1:6379'

/**
 * Whether `suite` should run (use with `describe.runIf`). When a service is missing it warns
 * `skipped: <suite> (no <service>)`, or, under REQUIRE_SERVICES, registers a test that fails with that
 * reason. Call at module level.
 */
export function requireOrSkip(suite: string, ...services: Service[]): boolean {
  const missing = services.filter((service) => !service.available).map((s) => `no ${s.description}`)
  if (missing.length === 0) return true
  const reason = `${suite} (${missing.join(', ')})`
  if (process.env.REQUIRE_SERVICES) {
    describe(suite, () => {
      it('has its services', () => {
        throw new Error(`REQUIRE_SERVICES is set but ${reason}`)
      })
    })
  } else {
    console.warn(`skipped: ${reason}`)
  }
  return false
}

export interface FreshDatabase {
  name: string
  url: string
  /** Drops the database, ending whatever connections are still open to it. */
  drop(): Promise<void>
}

/** A new, empty database `multillm_test_<random>`, so suites running in parallel never share tables. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const name = `multillm_test_${randomBytes(6).toString('hex')}`
  await admin(`CREATE DATABASE ${name}`)
  return {
    name,
    url: postgresUrl(name),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl('postgres'), connectionTimeoutMillis: 2000 })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}
