import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse'
import { GatewayError } from '../../src/errors'
import type { Deployment, LitellmParams, ModelInfo } from '../../src/providers/types'
import { atLimit, contextWindowOf, fitsContext, wouldExceed } from '../../src/router/capacity-checks'
import { cooldownAction } from '../../src/router/cooldown-policy'
import { lowestOrderTier } from '../../src/router/order-tiers'
import { routingSettings } from '../../src/router/routing-settings'
import {
  costPerToken,
  type DeploymentStats,
  EMPTY_STATS,
  leastBusy,
  lowestCost,
  lowestLatency,
  lowestUsage,
  rankedLatency,
  type StrategyInput,
} from '../../src/router/strategies'

const dep = (id: string, params: Partial<LitellmParams> = {}, modelInfo: ModelInfo = {}): Deployment => ({
  id,
  modelName: 'g',
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x', ...params },
  modelInfo,
})

const stats = (s: Partial<DeploymentStats>): DeploymentStats => ({ ...EMPTY_STATS, ...s })

function input(
  deployments: Deployment[],
  byId: Record<string, Partial<DeploymentStats>>,
  extra: Partial<StrategyInput> = {},
): StrategyInput {
  return {
    deployments,
    stats: (d) => stats(byId[d.id] ?? {}),
    stream: false,
    latencyBuffer: 0,
    random: () => 0,
    ...extra,
  }
}

/** Which deployments a strategy picks over a sweep of "random" values. */
function picks(pick: (random: () => number) => Deployment, n = 100): Set<string> {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) seen.add(pick(() => (i + 0.5) / n).id)
  return seen
}

const [a, b, c] = [dep('a'), dep('b'), dep('c')]

describe('routing strategies (pure)', () => {
  it('least-busy picks the fewest in flight, ties at random', () => {
    const s = { a: { inFlight: 3 }, b: { inFlight: 1 }, c: { inFlight: 1 } }
    expect(picks((random) => leastBusy(input([a, b, c], s, { random })))).toEqual(new Set(['b', 'c']))
  })

  it('usage-based picks the fewest tokens this minute', () => {
    expect(lowestUsage(input([a, b, c], { a: { tpm: 50 }, b: { tpm: 10 }, c: { tpm: 90 } })).id).toBe('b')
  })

  it('latency-based picks the fastest average, unmeasured first, within the buffer at random', () => {
    const s = { a: { latencyMs: [100, 300] }, b: { latencyMs: [150] }, c: { latencyMs: [1000] } }
    expect(picks((random) => lowestLatency(input([a, b, c], s, { random })))).toEqual(new Set(['b']))
    // 200 ms average for a is within 50 % of b's 150 ms; c is not.
    const buffered = picks((random) => lowestLatency(input([a, b, c], s, { random, latencyBuffer: 0.5 })))
    expect(buffered).toEqual(new Set(['a', 'b']))
    // A new deployment (no samples) ranks 0 and is tried first.
    expect(lowestLatency(input([a, b, dep('new')], s)).id).toBe('new')
  })

  it('latency-based ranks streams by time to first token where there are samples', () => {
    expect(rankedLatency(stats({ latencyMs: [900], ttftMs: [100, 200] }), true)).toBe(150)
    expect(rankedLatency(stats({ latencyMs: [900], ttftMs: [100, 200] }), false)).toBe(900)
    expect(rankedLatency(stats({ latencyMs: [900] }), true)).toBe(900)
  })

  it('cost-based picks the cheapest per token: custom prices, the price map, unknown as 1', () => {
    const haiku = dep('haiku', { model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0' })
    const sonnet = dep('sonnet', { model: 'bedrock/anthropic.claude-3-sonnet-20240229-v1:0' })
    const custom = dep('custom', { input_cost_per_token: 1e-8, output_cost_per_token: 1e-8 })
    const unknown = dep('unknown')
    expect(costPerToken(haiku)).toBeCloseTo(0.25e-6 + 1.25e-6, 12)
    expect(costPerToken(unknown)).toBe(2)
    expect(lowestCost(input([sonnet, haiku, unknown], {})).id).toBe('haiku')
    expect(lowestCost(input([sonnet, haiku, custom], {})).id).toBe('custom')
    const twins = [dep('t1', { input_cost_per_token: 1, output_cost_per_token: 1 }), dep('t2')]
    expect(picks((random) => lowestCost(input([...twins, unknown], {}, { random })))).toEqual(
      new Set(['t1', 't2', 'unknown']),
    )
  })
})

describe('order tiers', () => {
  it('keeps the lowest order; deployments without one form the last tier', () => {
    const one = dep('one', { order: 1 })
    const two = dep('two', { order: 2 })
    const also1 = dep('also1', {}, { order: 1 })
    const none = dep('none')
    expect(lowestOrderTier([two, none, one, also1]).map((d) => d.id)).toEqual(['one', 'also1'])
    expect(lowestOrderTier([two, none]).map((d) => d.id)).toEqual(['two'])
    expect(lowestOrderTier([none, a]).map((d) => d.id)).toEqual(['none', 'a'])
  })
})

describe('capacity and context checks', () => {
  const limited = dep('l', { rpm: 10, tpm: 1000 })

  it('drops a deployment the call would push over its rpm or tpm (strategies)', () => {
    expect(wouldExceed(limited, stats({ rpm: 9, tpm: 900 }), 100)).toBe(false)
    expect(wouldExceed(limited, stats({ rpm: 10 }), 0)).toBe(true)
    expect(wouldExceed(limited, stats({ tpm: 901 }), 100)).toBe(true)
    expect(wouldExceed(a, stats({ rpm: 1e9, tpm: 1e9 }), 1e9)).toBe(false)
  })

  it('drops a deployment at or over its rpm or tpm (pre-call checks)', () => {
    expect(atLimit(limited, stats({ rpm: 9, tpm: 999 }))).toBe(false)
    expect(atLimit(limited, stats({ rpm: 10 }))).toBe(true)
    expect(atLimit(limited, stats({ tpm: 1000 }))).toBe(true)
  })

  it('reads the context window from model_info, else the price map, else does not check', () => {
    const configured = dep('c', {}, { max_input_tokens: 4096 })
    const mapped = dep('m', { model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0' })
    const based = dep(
      'b',
      { model: 'bedrock/arn:aws:bedrock:us-east-1:1:provisioned-model/abc' },
      {
        base_model: 'anthropic.claude-3-haiku-20240307-v1:0',
      },
    )
    expect(contextWindowOf(configured)).toBe(4096)
    expect(contextWindowOf(mapped)).toBe(200_000)
    expect(contextWindowOf(based)).toBe(200_000)
    expect(contextWindowOf(a)).toBeUndefined()
    expect(fitsContext(configured, 4096)).toBe(true)
    expect(fitsContext(configured, 4097)).toBe(false)
    expect(fitsContext(a, 10_000_000)).toBe(true)
  })
})

describe('cooldown rules', () => {
  const settings = routingSettings({ routerSettings: {}, litellmSettings: {} })
  const error = (status: number, extra: { retryAfter?: number; message?: string } = {}) =>
    new GatewayError({
      status,
      message: extra.message ?? 'x',
      retryAfter: extra.retryAfter,
      origin: 'upstream',
    })

  it('cools down at once on 429 (for Retry-After), 401, 404 and 408', () => {
    expect(cooldownAction(a, error(429, { retryAfter: 42 }), settings, 2)).toEqual({
      kind: 'now',
      seconds: 42,
    })
    expect(cooldownAction(a, error(429), settings, 2)).toEqual({ kind: 'now', seconds: 5 })
    for (const status of [401, 404, 408]) {
      expect(cooldownAction(a, error(status), settings, 2)).toEqual({ kind: 'now', seconds: 5 })
    }
  })

  it('never cools down on other client errors, including context window and content policy', () => {
    for (const e of [
      error(400),
      error(403),
      error(422),
      error(400, { message: 'litellm.ContextWindowExceededError: too long' }),
      error(400, { message: 'litellm.ContentPolicyViolationError: no' }),
    ]) {
      expect(cooldownAction(a, e, settings, 2)).toEqual({ kind: 'none' })
    }
  })

  it('counts 5xx and network errors against allowed_fails', () => {
    expect(cooldownAction(a, error(500), settings, 2)).toEqual({ kind: 'count', allowedFails: 3, seconds: 5 })
    expect(cooldownAction(a, error(503), settings, 2)).toEqual({ kind: 'count', allowedFails: 3, seconds: 5 })
    expect(cooldownAction(a, undefined, settings, 2)).toEqual({ kind: 'count', allowedFails: 3, seconds: 5 })
  })

  it('never cools down a group of one, or with disable_cooldowns', () => {
    expect(cooldownAction(a, error(429), settings, 1)).toEqual({ kind: 'none' })
    const off = routingSettings({ routerSettings: { disable_cooldowns: true }, litellmSettings: {} })
    expect(cooldownAction(a, error(500), off, 2)).toEqual({ kind: 'none' })
  })

  it('takes allowed_fails, cooldown_time and allowed_fails_policy from the config and the deployment', () => {
    const custom = routingSettings({
      routerSettings: {
        cooldown_time: 30,
        allowed_fails_policy: { RateLimitErrorAllowedFails: 10, InternalServerErrorAllowedFails: 1 },
      },
      litellmSettings: { allowed_fails: 7 },
    })
    expect(cooldownAction(a, error(429), custom, 2)).toEqual({ kind: 'count', allowedFails: 10, seconds: 30 })
    expect(cooldownAction(a, error(502), custom, 2)).toEqual({ kind: 'count', allowedFails: 1, seconds: 30 })
    expect(cooldownAction(a, error(401), custom, 2)).toEqual({ kind: 'now', seconds: 30 })
    const own = dep('own', { cooldown_time: 2 }, { allowed_fails: 0 })
    expect(cooldownAction(own, error(500), settings, 2)).toEqual({
      kind: 'count',
      allowedFails: 0,
      seconds: 2,
    })
    expect(cooldownAction(a, error(500), custom, 2)).toEqual({ kind: 'count', allowedFails: 1, seconds: 30 })
    const noPolicy = routingSettings({ routerSettings: {}, litellmSettings: { allowed_fails: 7 } })
    expect(cooldownAction(a, error(500), noPolicy, 2)).toEqual({ kind: 'count', allowedFails: 7, seconds: 5 })
  })
})

describe('routing settings', () => {
  it('defaults as LiteLLM: simple-shuffle, 3 fails, 5 s cooldown, 1 h latency window', () => {
    expect(routingSettings({ routerSettings: {}, litellmSettings: {} })).toEqual({
      strategy: 'simple-shuffle',
      latencyTtlSeconds: 3600,
      latencyBuffer: 0,
      allowedFails: 3,
      cooldownSeconds: 5,
      disableCooldowns: false,
      allowedFailsPolicy: {},
      enablePreCallChecks: false,
    })
  })

  it('loads an unknown routing_strategy with a warning and routes simple-shuffle', async () => {
    const config = await parseConfig(
      'model_list: [{model_name: g, litellm_params: {model: mock/x}}]\nrouter_settings: {routing_strategy: fastest}\n',
      {},
    )
    expect(config.warnings).toEqual([
      {
        path: 'router_settings.routing_strategy',
        message: expect.stringMatching(/^unknown routing strategy "fastest"; using simple-shuffle/),
      },
    ])
    expect(routingSettings(config).strategy).toBe('simple-shuffle')
  })

  it('reads routing_strategy_args for latency routing', () => {
    const s = routingSettings({
      routerSettings: {
        routing_strategy: 'latency-based-routing',
        routing_strategy_args: { ttl: 60, lowest_latency_buffer: 0.2 },
      },
      litellmSettings: {},
    })
    expect(s).toMatchObject({ strategy: 'latency-based-routing', latencyTtlSeconds: 60, latencyBuffer: 0.2 })
  })
})
