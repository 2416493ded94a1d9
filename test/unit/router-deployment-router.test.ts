import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse'
import type { GatewayConfig } from '../../src/config/types'
import { GatewayError } from '../../src/errors'
import { type Logger, silentLogger } from '../../src/observability/logger'
import type { ChatRequest } from '../../src/openai/chat-request'
import type { Deployment, LitellmParams, ModelInfo } from '../../src/providers/types'
import { createDeploymentRouter } from '../../src/router/create-deployment-router'
import { isContextWindowExceeded } from '../../src/router/error-class'
import { RoutingError } from '../../src/router/routing-errors'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'

const dep = (
  id: string,
  params: Partial<LitellmParams> = {},
  modelInfo: ModelInfo = {},
  group = 'g',
): Deployment => ({
  id,
  modelName: group,
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x', ...params },
  modelInfo,
})

const configOf = (
  deployments: Deployment[],
  routerSettings: Record<string, unknown> = {},
): GatewayConfig => ({
  deployments,
  routerSettings,
  litellmSettings: {},
  generalSettings: {},
  environmentVariables: {},
  warnings: [],
})

const request = (estimatedPromptTokens = 10) => ({
  body: { model: 'g', messages: [{ role: 'user', content: 'hi' }] } as ChatRequest,
  estimatedPromptTokens,
})

/** Memory counters that count reads and can be made to fail or hang. */
function probedCounters(now: () => number) {
  const inner = memoryCounters(now)
  const probe = { reads: 0, runs: 0, failing: false, hanging: false }
  const gate = async <T>(work: () => Promise<T>): Promise<T> => {
    if (probe.hanging) return new Promise<T>(() => {})
    if (probe.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
    return work()
  }
  const counters: Counters = {
    ...inner,
    kind: 'redis',
    mget: (keys) => {
      probe.reads++
      return gate(() => inner.mget(keys))
    },
    run: (script, keys, args) => {
      probe.runs++
      return gate(() => inner.run(script, keys, args))
    },
  }
  return { counters, probe }
}

function setup(
  deployments: Deployment[],
  routerSettings: Record<string, unknown> = {},
  logger: Logger = silentLogger,
) {
  let now = 1_700_000_000_000
  const clock = () => now
  const { counters, probe } = probedCounters(clock)
  const pending: Promise<unknown>[] = []
  const router = createDeploymentRouter({
    config: configOf(deployments, routerSettings),
    counters,
    clock,
    random: () => 0,
    logger,
  })
  return {
    router,
    probe,
    advance: (ms: number) => {
      now += ms
    },
    background: (p: Promise<unknown>) => {
      pending.push(p)
    },
    flush: async () => {
      await Promise.all(pending.splice(0))
    },
  }
}

const failure = (status: number, retryAfter?: number) =>
  new GatewayError({ status, message: `upstream ${status}`, retryAfter, origin: 'upstream' })

describe('deployment router: cooldowns', () => {
  it('routes around a deployment that failed more than allowed_fails times, until cooldown_time ends', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b])
    for (let i = 0; i < 3; i++) t.router.ended(a, { ok: false, error: failure(500) }, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a') // 3 fails allowed
    t.router.ended(a, { ok: false, error: failure(503) }, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('b')
    t.advance(5001)
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
  })

  it('cools down at once on 429 for the upstream Retry-After; a client error never cools down', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b])
    t.router.ended(a, { ok: false, error: failure(400) }, t.background)
    t.router.ended(a, { ok: false, error: failure(400) }, t.background)
    t.router.ended(a, { ok: false, error: failure(400) }, t.background)
    t.router.ended(a, { ok: false, error: failure(400) }, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    t.router.ended(a, { ok: false, error: failure(429, 20) }, t.background)
    await t.flush()
    t.advance(19_000)
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('b')
    t.advance(1001)
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
  })

  it('never cools down a group of one, and a pick by deployment id bypasses cooldowns', async () => {
    const only = dep('only', {}, {}, 'solo')
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([only, a, b])
    t.router.ended(only, { ok: false, error: failure(429) }, t.background)
    t.router.ended(a, { ok: false, error: failure(401) }, t.background)
    await t.flush()
    expect((await t.router.pick([only], request(), new Set())).id).toBe('only')
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('b')
    expect((await t.router.pick([a], request(), new Set())).id).toBe('a') // addressed by its id
  })

  it('answers LiteLLM 429 with the shortest cooldown left when all are cooling down', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b], { enable_pre_call_checks: true })
    t.router.ended(a, { ok: false, error: failure(429, 60) }, t.background)
    t.router.ended(b, { ok: false, error: failure(401) }, t.background)
    await t.flush()
    t.advance(1500)
    const error = (await t.router.pick([a, b], request(), new Set()).catch((e: unknown) => e)) as RoutingError
    expect(error).toBeInstanceOf(RoutingError)
    expect(error.kind).toBe('cooldown')
    expect(error.status).toBe(429)
    expect(error.retryAfter).toBe(4) // 5 s cooldown of b, 1.5 s gone
    expect(error.toJSON().error.message).toBe(
      "No deployments available for selected model, Try again in 4 seconds. Passed model=g. pre-call-checks=True, cooldown_list=['a', 'b']",
    )
  })

  it('does nothing with disable_cooldowns', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b], { disable_cooldowns: true })
    for (let i = 0; i < 10; i++) t.router.ended(a, { ok: false, error: failure(429) }, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    expect(t.probe.reads + t.probe.runs).toBe(0)
  })
})

describe('deployment router: order, retries, pre-call checks', () => {
  it('uses the lowest order tier, and the next one only when the tier is cooling down', async () => {
    const first = dep('first', { order: 1 })
    const second = dep('second', { order: 2 })
    const last = dep('last')
    const t = setup([last, second, first])
    const picked = new Set<string>()
    for (let i = 0; i < 20; i++)
      picked.add((await t.router.pick([last, second, first], request(), new Set())).id)
    expect(picked).toEqual(new Set(['first']))
    t.router.ended(first, { ok: false, error: failure(429) }, t.background)
    await t.flush()
    expect((await t.router.pick([last, second, first], request(), new Set())).id).toBe('second')
    t.router.ended(second, { ok: false, error: failure(401) }, t.background)
    await t.flush()
    expect((await t.router.pick([last, second, first], request(), new Set())).id).toBe('last')
  })

  it('prefers deployments not tried yet in this call, and retries the same one when none is left', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b])
    expect((await t.router.pick([a, b], request(), new Set(['a']))).id).toBe('b')
    expect((await t.router.pick([a, b], request(), new Set(['a', 'b']))).id).toBe('a')
    const first = dep('first', { order: 1 })
    const second = dep('second', { order: 2 })
    expect((await t.router.pick([first, second], request(), new Set(['first']))).id).toBe('second')
  })

  it('with enable_pre_call_checks, skips deployments whose context window is too small', async () => {
    const small = dep('small', {}, { max_input_tokens: 1000 })
    const big = dep('big', { model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0' })
    const t = setup([small, big], { enable_pre_call_checks: true })
    expect((await t.router.pick([small, big], request(5000), new Set())).id).toBe('big')
    expect((await t.router.pick([small, big], request(500), new Set())).id).toBe('small')
    const error = (await t.router
      .pick([small, big], request(300_000), new Set())
      .catch((e: unknown) => e)) as RoutingError
    expect(error.kind).toBe('context_window')
    expect(error.status).toBe(400)
    expect(isContextWindowExceeded(error)).toBe(true)
    expect(error.message).toBe(
      'litellm.ContextWindowExceededError: litellm._pre_call_checks: Context Window exceeded for given call. ' +
        'No models have context window large enough for this call.\n' +
        'Model=mock/x, Max Input Tokens=1000, Got=300000\n' +
        'Model=bedrock/anthropic.claude-3-haiku-20240307-v1:0, Max Input Tokens=200000, Got=300000',
    )
    // Without pre-call checks the window is not looked at.
    const off = setup([small, big])
    expect((await off.router.pick([small, big], request(300_000), new Set())).id).toBe('small')
  })

  it('with enable_pre_call_checks, skips deployments at their rpm this minute', async () => {
    const a = dep('a', { rpm: 2 })
    const b = dep('b', { rpm: 100 })
    const t = setup([a, b], { enable_pre_call_checks: true })
    t.router.started(a, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    t.router.started(a, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('b')
    t.advance(60_000) // the next UTC minute
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    const solo = setup([a], { enable_pre_call_checks: true })
    solo.router.started(a, solo.background)
    solo.router.started(a, solo.background)
    await solo.flush()
    const error = (await solo.router.pick([a], request(), new Set()).catch((e: unknown) => e)) as RoutingError
    expect(error.kind).toBe('usage_limit')
    expect(error.status).toBe(429)
    expect(error.retryAfter).toBeGreaterThanOrEqual(1)
    expect(error.retryAfter).toBeLessThanOrEqual(60)
  })

  it('usage-based-routing (v1) answers the generic 429 when every deployment is full', async () => {
    const a = dep('a', { rpm: 1 })
    const t = setup([a, dep('b', { rpm: 1 })], { routing_strategy: 'usage-based-routing' })
    t.router.started(a, t.background)
    await t.flush()
    const error = (await t.router.pick([a], request(), new Set()).catch((e: unknown) => e)) as RoutingError
    expect(error.kind).toBe('usage_limit')
    expect(error.message).toMatch(
      /^No deployments available for selected model, Try again in \d+ seconds\. Passed model=g\./,
    )
  })
})

describe('deployment router: state access', () => {
  it('reads nothing when the choice cannot depend on state, else once per pick', async () => {
    const only = dep('only', {}, {}, 'solo')
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([only, a, b])
    await t.router.pick([only], request(), new Set())
    t.router.started(only)
    t.router.ended(only, { ok: true, latencyMs: 10, tokens: 100 })
    expect(t.probe.reads + t.probe.runs).toBe(0)
    await t.router.pick([a, b], request(), new Set())
    expect(t.probe.reads).toBe(1)
    for (const strategy of [
      'least-busy',
      'usage-based-routing-v2',
      'latency-based-routing',
      'cost-based-routing',
    ]) {
      const s = setup([a, b], { routing_strategy: strategy, enable_pre_call_checks: true })
      await s.router.pick([a, b], request(), new Set())
      expect(s.probe.reads).toBe(1)
    }
  })

  it('never makes a request wait for state writes', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b], { routing_strategy: 'least-busy' })
    t.probe.hanging = true
    const background: Promise<unknown>[] = []
    expect(t.router.started(a, (p) => background.push(p))).toBeUndefined()
    expect(t.router.ended(a, { ok: false, error: failure(500) }, (p) => background.push(p))).toBeUndefined()
    expect(background).toHaveLength(2)
    // The release is queued behind its (hanging) increment, so it cannot overtake it.
    expect(t.probe.runs).toBe(1)
  })

  it("sends an attempt's release only after its in-flight increment (unordered REST calls)", async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b], { routing_strategy: 'least-busy' })
    t.router.started(a, t.background)
    t.router.ended(a, { ok: true, latencyMs: 5 }, t.background)
    await t.flush()
    // Had the release run first, the count would stay at 1 for minutes.
    const snapshot = await t.router.pick([a, b], request(), new Set())
    expect(['a', 'b']).toContain(snapshot.id)
    t.router.started(b, t.background)
    await t.flush()
    // b is busy, a is idle again: least-busy picks a.
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
  })
})

describe('deployment router: shared store unreachable', () => {
  it('keeps routing on per-instance state, warns once, shows it in health and recovers', async () => {
    const warnings: string[] = []
    const infos: string[] = []
    const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m), info: (m) => infos.push(m) }
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b], {}, logger)
    expect(t.router.health()).toEqual({ store: 'redis', degraded: false })
    t.probe.failing = true
    for (let i = 0; i < 10; i++) expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    expect(t.router.health()).toEqual({ store: 'redis', degraded: true })
    // Cooldowns keep working on this instance meanwhile.
    t.router.ended(a, { ok: false, error: failure(429) }, t.background)
    await t.flush()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('b')
    expect(warnings).toEqual(['routing state store unreachable: routing on per-instance state'])
    const readsWhileDown = t.probe.reads
    t.probe.failing = false
    await t.router.pick([a, b], request(), new Set())
    expect(t.probe.reads).toBe(readsWhileDown) // not retried before 5 s
    t.advance(5001)
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a') // shared state: no cooldown there
    expect(t.router.health().degraded).toBe(false)
    expect(infos).toContain('routing state store reachable again: routing on shared state')
  })

  it('does not let a hanging store hold a pick longer than the read deadline', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const t = setup([a, b])
    t.probe.hanging = true
    const started = Date.now()
    expect((await t.router.pick([a, b], request(), new Set())).id).toBe('a')
    expect(Date.now() - started).toBeLessThan(1500)
    expect(t.router.health().degraded).toBe(true)
  })

  it('routes on memory alone without a shared store', async () => {
    const [a, b] = [dep('a'), dep('b')]
    const router = createDeploymentRouter({
      config: configOf([a, b]),
      counters: undefined,
      clock: Date.now,
      random: () => 0,
      logger: silentLogger,
    })
    const pending: Promise<unknown>[] = []
    router.ended(a, { ok: false, error: failure(429) }, (p) => pending.push(p))
    await Promise.all(pending)
    expect((await router.pick([a, b], request(), new Set())).id).toBe('b')
    expect(router.health()).toEqual({ store: 'local', degraded: false })
  })
})

describe('deployment router: the seed config weighted split', () => {
  it('splits the two rpm 30 bedrock-claude-v3-sonnet deployments evenly within binomial bounds', async () => {
    const yaml = readFileSync(new URL('../fixtures/seed-proxy_config.yaml', import.meta.url), 'utf8')
    const config = await parseConfig(yaml, { LITELLM_MASTER_KEY: 'sk-test' })
    const group = config.deployments.filter((d) => d.modelName === 'bedrock-claude-v3-sonnet')
    expect(group).toHaveLength(2)
    const router = createDeploymentRouter({
      config,
      counters: memoryCounters(),
      clock: Date.now,
      random: Math.random,
      logger: silentLogger,
    })
    const n = 2000
    let first = 0
    for (let i = 0; i < n; i++)
      if ((await router.pick(group, request(), new Set())).id === group[0]!.id) first++
    // Binomial(2000, 0.5): sd ≈ 22.4; 5 sd either side fails a correct split about once in 1.7 million runs.
    const sd = Math.sqrt(n * 0.25)
    expect(Math.abs(first - n / 2)).toBeLessThan(5 * sd)
  })

  it('follows weights over rpm (9:1) within binomial bounds', async () => {
    const heavy = dep('heavy', { weight: 9, rpm: 1 })
    const light = dep('light', { weight: 1, rpm: 100 })
    const router = createDeploymentRouter({
      config: configOf([heavy, light]),
      counters: memoryCounters(),
      clock: Date.now,
      random: Math.random,
      logger: silentLogger,
    })
    const n = 2000
    let heavyCount = 0
    for (let i = 0; i < n; i++)
      if ((await router.pick([heavy, light], request(), new Set())).id === 'heavy') heavyCount++
    const sd = Math.sqrt(n * 0.9 * 0.1)
    expect(Math.abs(heavyCount - 0.9 * n)).toBeLessThan(5 * sd)
  })
})
