import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../adapters/workers/index'
import { type FakeNeon, startFakeNeon } from '../fakes/neon-http'
import { type FreshDatabase, freshDatabase, postgres, requireOrSkip } from '../helpers/services'

/**
 * How the Workers entry picks its stores from the bindings, run in Node on the adapter's source (the
 * entry is web-standard, so it runs here as it does in workerd; workerd-keys.test.ts runs the bundle).
 */
const MASTER_KEY = 'sk-workers-config-1234'
const CONFIG = `model_list:
  - model_name: demo
    litellm_params: { model: mock/demo, mock_response: hi }
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let lines: string[] = []
const logs = vi.spyOn(console, 'log')
beforeAll(() => {
  logs.mockImplementation((line: unknown) => void lines.push(String(line)))
})
afterEach(() => {
  lines = []
})
afterAll(() => logs.mockRestore())

const pending: Promise<unknown>[] = []
const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) }

/** Each call gets a fresh bindings object unless one is passed: the entry caches one app per object. */
async function call(bindings: Record<string, unknown>, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${MASTER_KEY}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const request = new Request(`http://worker${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const res = await worker.fetch(request, bindings, ctx)
  await Promise.allSettled(pending.splice(0))
  return { status: res.status, json: (await res.json()) as Json }
}

const base = { LITELLM_MASTER_KEY: MASTER_KEY, PROXY_CONFIG: CONFIG }
const chat = { model: 'demo', messages: [{ role: 'user', content: 'hi' }] }
const neonUrl = 'postgresql://app:secret-pw@ep-example-123.us-east-2.aws.neon.tech/neondb'

describe('Workers stores from the bindings', () => {
  it('without DATABASE_URL: no stores, the master key works and key routes say no database', async () => {
    const bindings = { ...base }
    expect((await call(bindings, 'POST', '/v1/chat/completions', chat)).status).toBe(200)
    const res = await call(bindings, 'POST', '/key/generate', {})
    expect(res.status).toBe(500)
    expect(res.json.error.type).toBe('db_not_connected_error')
  })

  it('Redis over TCP is a start-up error naming the setting, logged without its password', async () => {
    const bindings = { ...base, DATABASE_URL: neonUrl, REDIS_URL: 'redis://:redis-pw@cache.internal:6379' }
    const res = await call(bindings, 'GET', '/v1/models')
    expect(res.status).toBe(500)
    expect(res.json.error.message).toMatch(/could not start/)
    const log = lines.join('\n')
    expect(log).toContain('environment variable REDIS_URL is set, but Redis over TCP is not available')
    expect(log).toContain('UPSTASH_REDIS_REST_URL')
    expect(log).not.toContain('redis-pw')
    expect(JSON.stringify(res.json)).not.toContain('REDIS_URL')
  })

  it('names router_settings.redis_host when the config asks for Redis', async () => {
    const config = `${CONFIG}router_settings:\n  redis_host: cache.internal\n`
    const res = await call({ ...base, PROXY_CONFIG: config }, 'GET', '/v1/models')
    expect(res.status).toBe(500)
    expect(lines.join('\n')).toContain('router_settings.redis_host: Redis over TCP is not available')
  })

  it('Upstash wins over a Redis URL, as in storeSettings', async () => {
    const bindings = {
      ...base,
      REDIS_URL: 'redis://cache.internal:6379',
      UPSTASH_REDIS_REST_URL: 'https://example.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'token',
    }
    // No DATABASE_URL, so nothing is opened: only the choice of counters is checked.
    expect((await call(bindings, 'GET', '/v1/models')).status).toBe(200)
    expect(lines.join('\n')).toContain('virtual keys and spend need a database')
  })

  it('a malformed NEON_FETCH_ENDPOINT is reported by name', async () => {
    const bindings = { ...base, DATABASE_URL: neonUrl, NEON_FETCH_ENDPOINT: 'localhost:4444/sql' }
    expect((await call(bindings, 'GET', '/v1/models')).status).toBe(500)
    expect(lines.join('\n')).toContain('NEON_FETCH_ENDPOINT must be an http(s) URL')
  })
})

const SUITE = 'Workers stores: Neon HTTP with in-isolate counters'
describe.runIf(requireOrSkip(SUITE, postgres))(SUITE, () => {
  let db: FreshDatabase
  let neon: FakeNeon

  beforeAll(async () => {
    db = await freshDatabase()
    neon = await startFakeNeon({ postgresUrl: db.url })
  })
  afterAll(async () => {
    await neon?.close()
    await db?.drop()
  })

  it('warns that counters are per isolate, migrates once and serves virtual keys', async () => {
    const bindings = { ...base, DATABASE_URL: neon.connectionString, NEON_FETCH_ENDPOINT: neon.fetchEndpoint }
    const made = await call(bindings, 'POST', '/key/generate', { models: ['demo'] })
    expect(made.status, JSON.stringify(made.json)).toBe(200)
    const log = lines.join('\n')
    expect(log).toContain('counters are per isolate')
    expect(log).toContain('schema migration 1')

    const migrationQueries = () =>
      neon.requests.filter((r) => JSON.stringify(r.body).includes('multillm_schema_migrations')).length
    const before = migrationQueries()
    expect(before).toBeGreaterThan(0)
    const key: string = made.json.key
    const res = await worker.fetch(
      new Request('http://worker/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(chat),
      }),
      bindings,
      ctx,
    )
    expect(res.status).toBe(200)
    await Promise.allSettled(pending.splice(0))
    // Same bindings, same isolate: the cached app is reused, nothing is migrated again.
    expect(migrationQueries()).toBe(before)
  })

  it('a database that cannot be reached fails the start, and the next request tries again', async () => {
    const bindings = {
      ...base,
      DATABASE_URL: neon.connectionString,
      NEON_FETCH_ENDPOINT: 'http://127.0.0.1:9/sql',
    }
    expect((await call(bindings, 'GET', '/v1/models')).status).toBe(500)
    expect(lines.join('\n')).toContain('gateway start-up failed')
    // Same bindings object: only a forgotten failure lets the fixed endpoint be used.
    bindings.NEON_FETCH_ENDPOINT = neon.fetchEndpoint
    expect((await call(bindings, 'GET', '/v1/models')).status).toBe(200)
  })
})
