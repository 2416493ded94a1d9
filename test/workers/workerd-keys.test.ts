import { createHash } from 'node:crypto'
import { Miniflare } from 'miniflare'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type FakeNeon, startFakeNeon } from '../fakes/neon-http'
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash'
import {
  type FreshDatabase,
  freshDatabase,
  postgres,
  redis,
  redisUrl,
  requireOrSkip,
} from '../helpers/services'
import { ensureWorkerBundle, WORKER_BUNDLE } from './bundle'

/**
 * The seed README's virtual-key walkthrough against the Workers bundle inside workerd (no
 * nodejs_compat), with the stores a Worker can reach: Postgres over Neon's SQL-over-HTTP protocol and
 * Redis over Upstash's REST API. Both are local fakes in front of the real Postgres and Redis, so every
 * query and counter the Worker sends really runs, and the test reads the rows back with `pg`.
 */
const MASTER_KEY = 'sk-workerd-master-1234'
const SUITE = 'virtual keys in workerd (Neon HTTP + Upstash REST)'

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function proxyConfig(bedrock: FakeBedrock): string {
  const group = (name: string, modelId: string) => `
  - model_name: ${name}
    litellm_params:
      model: bedrock/${modelId}
      aws_region_name: us-east-1
      aws_access_key_id: ${bedrock.credentials.accessKeyId}
      aws_secret_access_key: "${bedrock.credentials.secretAccessKey}"
      aws_bedrock_runtime_endpoint: ${bedrock.url}`
  return `model_list:${group('bedrock-claude-v3-sonnet', 'anthropic.claude-3-sonnet-20240229-v1:0')}${group(
    'bedrock-claude-v3-haiku',
    'anthropic.claude-3-haiku-20240307-v1:0',
  )}${group('other', 'anthropic.claude-3-haiku-20240307-v1:0')}
`
}

describe.runIf(requireOrSkip(SUITE, postgres, redis))(SUITE, { timeout: 60_000 }, () => {
  let db: FreshDatabase
  let bedrock: FakeBedrock
  let upstash: FakeUpstash
  let neon: FakeNeon
  let mf: Miniflare
  let direct: pg.Client

  beforeAll(async () => {
    ensureWorkerBundle()
    db = await freshDatabase()
    ;[bedrock, upstash, neon] = await Promise.all([
      startFakeBedrock(),
      startFakeUpstash({ redisUrl }),
      startFakeNeon({ postgresUrl: db.url }),
    ])
    mf = new Miniflare({
      modules: true,
      scriptPath: WORKER_BUNDLE,
      compatibilityDate: '2026-04-01',
      compatibilityFlags: ['enable_request_signal'],
      bindings: {
        DATABASE_URL: neon.connectionString,
        NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        LITELLM_MASTER_KEY: MASTER_KEY,
        PROXY_CONFIG: proxyConfig(bedrock),
        LITELLM_LOG: 'INFO',
      },
    })
    await mf.ready
    direct = new pg.Client({ connectionString: db.url })
    await direct.connect()
  }, 60_000)

  afterAll(async () => {
    await mf?.dispose()
    await direct?.end()
    await Promise.all([bedrock?.close(), upstash?.close(), neon?.close()])
    await db?.drop()
  }, 60_000)

  async function call(method: string, path: string, body?: unknown, key = MASTER_KEY) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await mf.dispatchFetch(`http://localhost${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : null) as Json }
  }

  const chat = (key: string, model: string) =>
    call('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hello' }] }, key)

  let key = ''
  let cost = 0

  it('/key/generate makes a key restricted to two models, with metadata', async () => {
    const res = await call('POST', '/key/generate', {
      models: ['bedrock-claude-v3-sonnet', 'bedrock-claude-v3-haiku'],
      metadata: { user: 'ishaan@berri.ai' },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    key = res.json.key
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
    expect(res.json.token).toBe(sha256(key))
    expect(res.json.models).toEqual(['bedrock-claude-v3-sonnet', 'bedrock-claude-v3-haiku'])
    expect(res.json.metadata).toEqual({ user: 'ishaan@berri.ai' })
  })

  it('the key calls sonnet on Bedrock and the response carries its cost', async () => {
    const res = await chat(key, 'bedrock-claude-v3-sonnet')
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    expect(res.json.choices[0].message.role).toBe('assistant')
    cost = Number(res.headers.get('x-litellm-response-cost'))
    expect(cost).toBeGreaterThan(0)
    expect(bedrock.requests).toHaveLength(1)
    expect(bedrock.requests[0]?.auth).toEqual({ ok: true })
    expect(bedrock.requests[0]?.modelId).toBe('anthropic.claude-3-sonnet-20240229-v1:0')
  })

  it('the key is refused a model outside its list, before any Bedrock call', async () => {
    const res = await chat(key, 'other')
    expect(res.status).toBe(401)
    expect(res.json.error).toMatchObject({ type: 'key_model_access_denied', param: 'model', code: '401' })
    expect(res.json.error.message).toContain('Tried to access other')
    expect(bedrock.requests).toHaveLength(1)
  })

  it('/key/info shows the spend, equal to the spend logs once the waitUntil write landed', async () => {
    const logs = async () => {
      const res = await call('GET', `/spend/logs?api_key=${key}&summarize=false`)
      expect(res.status).toBe(200)
      return res.json as { spend: number; api_key: string; model_group: string }[]
    }
    // The spend-log row is written by the request's waitUntil work, after the response was sent.
    const deadline = Date.now() + 15_000
    let rows = await logs()
    while (rows.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      rows = await logs()
    }
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ api_key: sha256(key), model_group: 'bedrock-claude-v3-sonnet' })
    const logged = rows.reduce((sum, row) => sum + row.spend, 0)
    expect(logged).toBeCloseTo(cost, 12)

    const info = await call('GET', `/key/info?key=${key}`)
    expect(info.status).toBe(200)
    expect(info.json.key).toBe(key)
    expect(info.json.info.spend).toBeGreaterThan(0)
    expect(info.json.info.spend).toBeCloseTo(logged, 12)
    expect(info.json.info.metadata).toEqual({ user: 'ishaan@berri.ai' })
  })

  let userKey = ''

  it('/user/new creates a user with a key, and /user/info lists it', async () => {
    const created = await call('POST', '/user/new', { user_id: 'krrish', user_email: 'krrish@berri.ai' })
    expect(created.status, JSON.stringify(created.json)).toBe(200)
    expect(created.json).toMatchObject({ user_id: 'krrish', user_email: 'krrish@berri.ai' })
    userKey = created.json.key
    expect(userKey).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)

    const info = await call('GET', '/user/info?user_id=krrish')
    expect(info.status).toBe(200)
    expect(info.json.user_info).toMatchObject({ user_id: 'krrish', user_email: 'krrish@berri.ai' })
    expect(info.json.keys.map((k: Json) => k.token)).toEqual([sha256(userKey)])
  })

  it('/key/delete refuses the key on its very next call', async () => {
    // Cached by the calls above: the delete must evict it, not wait for the cache to expire.
    expect((await chat(key, 'bedrock-claude-v3-haiku')).status).toBe(200)
    const deleted = await call('POST', '/key/delete', { keys: [key] })
    expect(deleted.status).toBe(200)
    expect(deleted.json).toEqual({ deleted_keys: [key] })
    const refused = await chat(key, 'bedrock-claude-v3-haiku')
    expect(refused.status).toBe(401)
    expect(bedrock.requests).toHaveLength(2)
  })

  it('the rows are in Postgres, written through the Neon HTTP endpoint; counters went through Upstash', async () => {
    const tokens = await direct.query<{ token: string; user_id: string | null }>(
      'SELECT token, user_id FROM "LiteLLM_VerificationToken" ORDER BY token',
    )
    expect(tokens.rows).toEqual([{ token: sha256(userKey), user_id: 'krrish' }])
    const deleted = await direct.query('SELECT token FROM "LiteLLM_DeletedVerificationToken"')
    expect(deleted.rows).toEqual([{ token: sha256(key) }])

    // Both sonnet and haiku calls are logged (the haiku one may still be in flight).
    const deadline = Date.now() + 15_000
    let spend: { api_key: string; spend: number; model_group: string }[] = []
    while (Date.now() < deadline) {
      spend = (
        await direct.query<{ api_key: string; spend: number; model_group: string }>(
          'SELECT api_key, spend, model_group FROM "LiteLLM_SpendLogs" ORDER BY "startTime"',
        )
      ).rows
      if (spend.length >= 2) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(spend.map((row) => [row.api_key, row.model_group])).toEqual([
      [sha256(key), 'bedrock-claude-v3-sonnet'],
      [sha256(key), 'bedrock-claude-v3-haiku'],
    ])
    expect(spend[0]?.spend).toBeCloseTo(cost, 12)

    const migrations = await direct.query('SELECT version FROM multillm_schema_migrations')
    expect(migrations.rows.length).toBeGreaterThan(0)
    expect(neon.requests.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    expect(neon.requests.every((r) => r.status === 200)).toBe(true)
    expect(upstash.requests.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    // No 401 (token) or 500 (Redis unreachable); a 400 is a Redis error reply, e.g. NOSCRIPT for an
    // EVALSHA sent before the script was cached, which the client follows with EVAL.
    const failed = upstash.requests.filter((r) => r.status !== 200)
    expect(failed.map((r) => r.status)).toEqual(failed.map(() => 400))
  })
})
