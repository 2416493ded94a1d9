import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { migratedPglite, waitUntilQueue } from '../helpers/in-process-gateway'

/** Rate limits in process: PGlite, memory counters, the fake Bedrock for streams that stay open. */
const MASTER = 'sk-master-limits-1234'
const CONFIG = `
model_list:
  - model_name: fast
    litellm_params: { model: mock/x, mock_response: hi }
  - model_name: slow
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let sql: Sql
let app: App
let fake: FakeBedrock
const { waitUntil, settle } = waitUntilQueue()

const post = (path: string, body: unknown, key = MASTER, signal?: AbortSignal) =>
  app.fetch(
    new Request(`http://gw${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    }),
    { waitUntil },
  )
const chat = (key: string, model: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }], ...extra }, key, signal)
const newKey = async (body: Record<string, unknown>): Promise<string> => {
  const res = await post('/key/generate', body)
  expect(res.status).toBe(200)
  return ((await res.json()) as Json).key
}

beforeAll(async () => {
  fake = await startFakeBedrock()
  fake.setHandler(() => ({ type: 'stream', reply: { text: 'one two three four five six' }, eventGapMs: 250 }))
  sql = await migratedPglite()
  const env = {
    FAKE_AWS_KEY: fake.credentials.accessKeyId,
    FAKE_AWS_SECRET: fake.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
  }
  app = await createApp({
    config: await parseConfig(CONFIG, env),
    env,
    masterKey: MASTER,
    logger: silentLogger,
    stores: { sql, counters: memoryCounters() },
  })
})

afterAll(async () => {
  await settle()
  await app?.close?.()
  await fake?.close()
})

describe('key rate limits in process', () => {
  it('rpm_limit 4: four 200s with x-ratelimit headers, then 429 with retry-after', async () => {
    const key = await newKey({ rpm_limit: 4, tpm_limit: 100_000 })
    for (let i = 0; i < 4; i++) {
      const res = await chat(key, 'fast')
      expect(res.status).toBe(200)
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('4')
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBe(String(3 - i))
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('100000')
      expect(Number(res.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100_000)
      await res.text()
    }
    const refused = await chat(key, 'fast')
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    const body = (await refused.json()) as Json
    expect(body.error.code).toBe('429')
    expect(body.error.message).toMatch(
      /^Rate limit exceeded for api_key: [0-9a-f]{64}\. Limit type: requests\. Current limit: 4, Remaining: 0\.$/,
    )
    // The master key is never limited.
    expect((await chat(MASTER, 'fast')).status).toBe(200)
  })

  it('user and model_per_key limits apply too', async () => {
    await post('/user/new', { user_id: 'limited-user', rpm_limit: 1 })
    const key = await newKey({ user_id: 'limited-user' })
    expect((await chat(key, 'fast')).status).toBe(200)
    const refused = await chat(key, 'fast')
    expect(refused.status).toBe(429)
    expect(((await refused.json()) as Json).error.message).toContain('for user: limited-user')

    const perModel = await newKey({ model_rpm_limit: { fast: 1 } })
    expect((await chat(perModel, 'fast')).status).toBe(200)
    const second = await chat(perModel, 'fast')
    expect(second.status).toBe(429)
    expect(((await second.json()) as Json).error.message).toContain('for model_per_key:')
  })

  it('max_parallel_requests 2: a third concurrent stream is refused until one ends or is aborted', async () => {
    const key = await newKey({ max_parallel_requests: 2 })
    const a = await chat(key, 'slow', { stream: true })
    const b = await chat(key, 'slow', { stream: true })
    expect([a.status, b.status]).toEqual([200, 200])
    const c = await chat(key, 'slow', { stream: true })
    expect(c.status).toBe(429)
    expect(c.headers.get('retry-after')).toBe('1')
    expect(((await c.json()) as Json).error.message).toContain('Limit type: max_parallel_requests')

    // One finishes: a slot frees.
    expect(await a.text()).toContain('[DONE]')
    await settle()
    const d = await chat(key, 'slow', { stream: true })
    expect(d.status).toBe(200)
    expect((await chat(key, 'slow', { stream: true })).status).toBe(429)

    // One client goes away mid-stream: its slot frees, exactly once.
    await b.body?.cancel()
    await settle()
    const e = await chat(key, 'slow', { stream: true })
    expect(e.status).toBe(200)
    expect((await chat(key, 'slow', { stream: true })).status).toBe(429)
    await d.text()
    await e.text()
    await settle()
    // Both free again, not more (cancel + end did not release twice).
    const f = await chat(key, 'slow', { stream: true })
    const g = await chat(key, 'slow', { stream: true })
    expect([f.status, g.status]).toEqual([200, 200])
    expect((await chat(key, 'slow', { stream: true })).status).toBe(429)
    await f.text()
    await g.text()
    await settle()
  }, 30_000)
})
