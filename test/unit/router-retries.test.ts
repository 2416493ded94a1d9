import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import type { Deployment } from '../../src/providers/types'
import { callWithRetries, MAX_RETRY_WAIT_MS } from '../../src/router/call-with-retries'
import { type AttemptOutcome, shuffleRouter } from '../../src/router/deployment-router'
import { reliabilitySettings } from '../../src/router/reliability-settings'
import { retriesAllowed, retryDelayMs } from '../../src/router/retry-decision'

const dep = (id: string): Deployment => ({
  id,
  modelName: 'g',
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x' },
  modelInfo: {},
})

const upstream = (status: number, message = `litellm.Error${status}: x`, retryAfter?: number) =>
  new GatewayError({ status, message, origin: 'upstream', retryAfter })

/** Runs the loop over `deployments`; `outcomes[i]` is what attempt i does (an error to throw, else success). */
async function loop(
  deployments: Deployment[],
  outcomes: Array<GatewayError | undefined>,
  settings: Record<string, unknown> = {},
) {
  const attempts: string[] = []
  const waits: number[] = []
  const ended: Array<[string, AttemptOutcome]> = []
  const base = shuffleRouter(() => 0)
  const result = await callWithRetries({
    deployments,
    request: { body: { model: 'g', messages: [{ role: 'user', content: 'hi' }] }, estimatedPromptTokens: 1 },
    router: { ...base, ended: (d, o) => ended.push([d.id, o]) },
    settings: reliabilitySettings({ routerSettings: settings, litellmSettings: {} }),
    random: () => 0,
    signal: new AbortController().signal,
    sleep: async (ms) => {
      waits.push(ms)
    },
    attempt: async (d) => {
      const outcome = outcomes[attempts.length]
      attempts.push(d.id)
      if (outcome) throw outcome
      return `answer from ${d.id}`
    },
  }).catch((error: unknown) => error)
  return { result, attempts, waits, ended }
}

describe('callWithRetries', () => {
  it('with num_retries 0 (the default) the first failure is final', async () => {
    const { result, attempts } = await loop([dep('a'), dep('b')], [upstream(503)])
    expect(result).toBeInstanceOf(GatewayError)
    expect(attempts).toEqual(['a'])
  })

  it('retries on another deployment at once, and reports the failure to the router', async () => {
    const { result, attempts, waits, ended } = await loop([dep('a'), dep('b')], [upstream(429)], {
      num_retries: 2,
    })
    expect(result).toMatchObject({ value: 'answer from b', retries: 1 })
    expect(attempts).toEqual(['a', 'b'])
    expect(waits).toEqual([0])
    expect(ended).toEqual([['a', { ok: false, error: expect.any(GatewayError) }]])
  })

  it('retries the only deployment after a backoff that honours Retry-After', async () => {
    const { result, attempts, waits } = await loop(
      [dep('a')],
      [upstream(429, 'litellm.RateLimitError: slow', 3), upstream(500)],
      { num_retries: 2 },
    )
    expect(result).toMatchObject({ value: 'answer from a', retries: 2 })
    expect(attempts).toEqual(['a', 'a', 'a'])
    // 3 s from Retry-After; then exponential backoff (0.5 s × 2, no jitter with random() = 0).
    expect(waits).toEqual([3000, 1000])
  })

  it('gives up instead of sitting out a Retry-After longer than the cap', async () => {
    const { result, attempts } = await loop([dep('a')], [upstream(429, 'litellm.RateLimitError: x', 60)], {
      num_retries: 3,
    })
    expect((result as GatewayError).retryAfter).toBe(60)
    expect(attempts).toEqual(['a'])
    expect(MAX_RETRY_WAIT_MS).toBeLessThan(60_000)
  })

  it('never retries a NotFoundError or a client error, whatever num_retries says', async () => {
    expect((await loop([dep('a'), dep('b')], [upstream(404)], { num_retries: 3 })).attempts).toEqual(['a'])
    const client = new GatewayError({ status: 400, message: 'bad param', origin: 'client' })
    expect((await loop([dep('a'), dep('b')], [client], { num_retries: 3 })).attempts).toEqual(['a'])
  })

  it('retry_policy overrides num_retries per error class', async () => {
    const settings = {
      num_retries: 0,
      retry_policy: { RateLimitErrorRetries: 2, InternalServerErrorRetries: 0 },
    }
    const limited = await loop(
      [dep('a'), dep('b')],
      [upstream(429, 'litellm.RateLimitError: x'), upstream(429)],
      settings,
    )
    expect(limited.attempts).toEqual(['a', 'b', 'a'])
    const broken = await loop([dep('a'), dep('b')], [upstream(500)], settings)
    expect(broken.attempts).toEqual(['a'])
  })
})

describe('retry decisions', () => {
  const settings = reliabilitySettings({ routerSettings: { num_retries: 2 }, litellmSettings: {} })

  it('an AuthenticationError is retried only when another deployment could answer', () => {
    expect(retriesAllowed(upstream(401), settings, true)).toBe(2)
    expect(retriesAllowed(upstream(401), settings, false)).toBe(0)
  })

  it('context-window errors are left to context_window_fallbacks when there are some', () => {
    const error = upstream(400, 'litellm.ContextWindowExceededError: long')
    const withFallbacks = reliabilitySettings({
      routerSettings: { num_retries: 2, context_window_fallbacks: [{ g: ['big'] }] },
      litellmSettings: {},
    })
    expect(retriesAllowed(error, withFallbacks, true)).toBe(0)
  })

  it('backoff doubles from 0.5 s to at most 8 s, never below retry_after', () => {
    const e = upstream(500)
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(e, n, settings, false, () => 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ])
    const floor = reliabilitySettings({ routerSettings: { retry_after: 2 }, litellmSettings: {} })
    expect(retryDelayMs(e, 1, floor, true, () => 0)).toBe(2000)
    // Jitter takes up to a quarter off.
    expect(retryDelayMs(e, 1, settings, false, () => 1)).toBe(375)
  })
})
