import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { GatewayError } from '../../src/errors'
import { callSignal } from '../../src/http/call-signal'
import { silentLogger } from '../../src/observability/logger'
import type { Deployment } from '../../src/providers/types'
import { callWithRetries } from '../../src/router/call-with-retries'
import { createDeploymentRouter } from '../../src/router/create-deployment-router'
import { reliabilitySettings, withRequestOverrides } from '../../src/router/reliability-settings'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { migratedPglite, waitUntilQueue } from '../helpers/in-process-gateway'

/**
 * What keeps one caller from hurting others through the reliability layer: fallbacks named in a
 * request are checked against the key's model access; drills, hang-ups and caller-shortened
 * timeouts never cool a shared deployment down; retries are bounded.
 */
const MASTER = 'sk-master-safeguards-1234'
const CONFIG = `
model_list:
  - model_name: cheap
    litellm_params: { model: mock/a, mock_response: from-a }
    model_info: { id: cheap-a }
  - model_name: cheap
    litellm_params: { model: mock/b, mock_response: from-b }
    model_info: { id: cheap-b }
  - model_name: expensive
    litellm_params: { model: mock/x, mock_response: from-expensive }
    model_info: { id: exp-1 }
router_settings:
  num_retries: 1
  cooldown_time: 60
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let sql: Sql
let app: App
const { waitUntil, settle } = waitUntilQueue()
const post = (path: string, body: unknown, key = MASTER) =>
  app.fetch(
    new Request(`http://gw${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    { waitUntil },
  )
const chat = (key: string, model: string, extra: Record<string, unknown> = {}) =>
  post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }], ...extra }, key)

beforeAll(async () => {
  sql = await migratedPglite()
  app = createApp({
    config: await parseConfig(CONFIG, {}),
    env: {},
    masterKey: MASTER,
    logger: silentLogger,
    stores: { sql, counters: memoryCounters() },
  })
})

afterAll(async () => {
  await settle()
  await app?.close()
  await sql?.close()
})

describe('reliability safeguards (in process)', () => {
  it('fallbacks named in the request are checked against the key’s model access', async () => {
    const key = ((await (await post('/key/generate', { models: ['cheap'] })).json()) as Json).key as string
    expect((await chat(key, 'expensive')).status).toBe(401)
    for (const extra of [
      { fallbacks: ['expensive'] },
      { fallbacks: [{ model: 'expensive' }] },
      { fallbacks: [{ cheap: ['expensive'] }] },
      { context_window_fallbacks: [{ cheap: ['expensive'] }] },
    ]) {
      const res = await chat(key, 'cheap', { mock_testing_fallbacks: true, ...extra })
      expect(res.status).toBe(401)
      expect(((await res.json()) as Json).error.message).toContain('expensive')
    }
    // The master key may fall back anywhere.
    const allowed = await chat(MASTER, 'cheap', { mock_testing_fallbacks: true, fallbacks: ['expensive'] })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('x-litellm-model-id')).toBe('exp-1')
  })

  it('a mock error drill is retried but never cools the deployments down', async () => {
    const drill = await chat(MASTER, 'cheap', { mock_response: 'litellm.RateLimitError' })
    expect(drill.status).toBe(429)
    // Headers on the error say what was tried.
    expect(drill.headers.get('x-litellm-attempted-retries')).toBe('1')
    expect(drill.headers.get('x-litellm-attempted-fallbacks')).toBe('0')
    await settle()
    const served = new Set<string>()
    for (let i = 0; i < 30; i++) {
      const res = await chat(MASTER, 'cheap')
      expect(res.status).toBe(200)
      served.add(res.headers.get('x-litellm-model-id') ?? '')
    }
    expect(served).toEqual(new Set(['cheap-a', 'cheap-b']))
  })
})

const dep = (id: string): Deployment => ({
  id,
  modelName: 'g',
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x' },
  modelInfo: {},
})

function router(settings: Record<string, unknown> = {}) {
  return createDeploymentRouter({
    config: { routerSettings: settings, litellmSettings: {}, deployments: [dep('a'), dep('b')] } as never,
    counters: memoryCounters(),
    clock: Date.now,
    random: () => 0,
    logger: silentLogger,
  })
}

const request = {
  body: { model: 'g', messages: [{ role: 'user' as const, content: 'hi' }] },
  estimatedPromptTokens: 1,
}

describe('what counts against a deployment', () => {
  it('client hang-ups (no error) never count toward allowed_fails', async () => {
    const r = router({ allowed_fails: 1 })
    const [a, b] = [dep('a'), dep('b')]
    const background: Promise<unknown>[] = []
    for (let i = 0; i < 5; i++) r.ended(a, { ok: false }, (p) => background.push(p))
    await Promise.all(background)
    const picks = new Set<string>()
    for (let i = 0; i < 4; i++) picks.add((await r.pick([a, b], request, new Set(['b']))).id)
    expect(picks).toEqual(new Set(['a']))
  })

  it('a timeout the caller shortened does not cool the deployment down; a configured one does', async () => {
    const shortened = callSignal(
      undefined,
      { firstByteSeconds: 0.001, idleSeconds: 0.001, callerShortened: true },
      'g',
    )
    const configured = callSignal(undefined, { firstByteSeconds: 0.001, idleSeconds: 0.001 }, 'g')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const callerTimeout = shortened.toError(new Error('aborted')) as GatewayError
    const upstreamTimeout = configured.toError(new Error('aborted')) as GatewayError
    expect([callerTimeout.status, callerTimeout.affectsDeployment]).toEqual([408, false])
    expect([upstreamTimeout.status, upstreamTimeout.affectsDeployment]).toEqual([408, true])
    const r = router()
    const [a, b] = [dep('a'), dep('b')]
    const background: Promise<unknown>[] = []
    r.ended(a, { ok: false, error: callerTimeout }, (p) => background.push(p))
    await Promise.all(background)
    expect((await r.pick([a, b], request, new Set(['b']))).id).toBe('a')
    r.ended(a, { ok: false, error: upstreamTimeout }, (p) => background.push(p))
    await Promise.all(background)
    expect((await r.pick([a, b], request, new Set(['b']))).id).toBe('b')
  })

  it('a retry waits (backoff, Retry-After) when the only other deployment is cooling down', async () => {
    const r = router({ num_retries: 2 })
    const [a, b] = [dep('a'), dep('b')]
    const background: Promise<unknown>[] = []
    r.ended(
      b,
      { ok: false, error: new GatewayError({ status: 429, message: 'x', origin: 'upstream' }) },
      (p) => background.push(p),
    )
    await Promise.all(background)
    const attempts: string[] = []
    const waits: number[] = []
    const result = await callWithRetries({
      deployments: [a, b],
      request,
      router: r,
      settings: reliabilitySettings({ routerSettings: { num_retries: 2 }, litellmSettings: {} }),
      random: () => 0,
      signal: new AbortController().signal,
      sleep: async (ms) => {
        waits.push(ms)
      },
      attempt: async (d) => {
        attempts.push(d.id)
        if (attempts.length < 3) {
          throw new GatewayError({ status: 503, message: 'busy', origin: 'upstream', retryAfter: 2 })
        }
        return 'ok'
      },
    })
    expect(result.value).toBe('ok')
    expect(attempts).toEqual(['a', 'a', 'a'])
    expect(waits).toEqual([2000, 2000])
  })

  it('a request cannot ask for unbounded retries', () => {
    const settings = reliabilitySettings({ routerSettings: { num_retries: 2 }, litellmSettings: {} })
    expect(withRequestOverrides(settings, { num_retries: 1_000_000 }).numRetries).toBe(10)
    expect(withRequestOverrides(settings, { num_retries: 3 }).numRetries).toBe(3)
  })
})
