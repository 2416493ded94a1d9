/**
 * What the routing state (src/router/router-state.ts, router-scripts.ts) must do on every counter
 * store, the Lua script on Redis/Upstash and its JavaScript twin in memory alike, and that two
 * routers sharing one store see each other's cooldowns, usage and in-flight calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayConfig } from '../../src/config/types'
import { GatewayError } from '../../src/errors'
import { silentLogger } from '../../src/observability/logger'
import type { ChatRequest } from '../../src/openai/chat-request'
import type { Deployment, LitellmParams } from '../../src/providers/types'
import { createDeploymentRouter } from '../../src/router/create-deployment-router'
import { createRouterState, routingKeys } from '../../src/router/router-state'
import { RoutingError } from '../../src/router/routing-errors'
import type { Counters } from '../../src/store/counters'

export interface RouterStateFixture {
  /** Two handles on one store (two connections for servers, the same object for memory). */
  a: Counters
  b: Counters
  /** The clock both routers use: real for servers, injected for memory. */
  clock: () => number
  /** Lets `ms` pass on that clock (and on the store's expiry). */
  wait(ms: number): Promise<void>
  close(): Promise<void>
}

let unique = 0
const dep = (group: string, id: string, params: Partial<LitellmParams> = {}): Deployment => ({
  id,
  modelName: group,
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x', ...params },
  modelInfo: {},
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

const request = (stream = false) => ({
  body: { model: 'g', messages: [{ role: 'user', content: 'hi' }], stream } as ChatRequest,
  estimatedPromptTokens: 10,
})

const serverError = () => new GatewayError({ status: 500, message: 'boom', origin: 'upstream' })

/** Lets fire-and-forget writes land: collects them through the `background` hook and awaits them. */
function collector() {
  const pending: Promise<unknown>[] = []
  return {
    background: (p: Promise<unknown>) => {
      pending.push(p)
    },
    flush: async () => {
      await Promise.all(pending.splice(0))
    },
  }
}

export function routerStateContract(name: string, make: () => Promise<RouterStateFixture>): void {
  describe(`routing state: ${name}`, () => {
    let f: RouterStateFixture
    beforeAll(async () => {
      f = await make()
    })
    afterAll(async () => {
      await f?.close()
    })

    /** Per-minute counters reset at the minute: start tests that count well inside one. */
    const awayFromMinuteEdge = async () => {
      const left = 60_000 - (f.clock() % 60_000)
      if (left < 3000) await f.wait(left + 10)
    }

    /** A fresh group name per test, so tests never see each other's keys. */
    const group = () => `g${++unique}-${Math.random().toString(36).slice(2, 8)}`

    it('counts rpm when a call starts and tpm when it ends, in the current UTC minute', async () => {
      await awayFromMinuteEdge()
      const g = group()
      const d = dep(g, 'u1', { rpm: 100, tpm: 1000 })
      const state = createRouterState({ counters: f.a, clock: f.clock, logger: silentLogger })
      await state.started(d, { usage: true, busy: false })
      await state.started(d, { usage: true, busy: false })
      await state.ended(d, { tokens: 250 })
      const plan = { cooldown: false, usage: true, busy: false, latency: false, ttft: false }
      const seen = await createRouterState({ counters: f.b, clock: f.clock, logger: silentLogger }).read(
        [d],
        plan,
      )
      expect(seen.stats(d)).toMatchObject({ rpm: 2, tpm: 250 })
      const minute = Math.floor(f.clock() / 60_000)
      const ttl = await f.a.ttl(routingKeys.rpm(d, minute))
      expect(ttl).toBeGreaterThan(60)
      expect(ttl).toBeLessThanOrEqual(120)
    })

    it('gives in-flight slots back, never below zero, and another instance sees them', async () => {
      const g = group()
      const d = dep(g, 'b1')
      const one = createRouterState({ counters: f.a, clock: f.clock, logger: silentLogger })
      const two = createRouterState({ counters: f.b, clock: f.clock, logger: silentLogger })
      const plan = { cooldown: false, usage: false, busy: true, latency: false, ttft: false }
      await one.started(d, { usage: false, busy: true })
      await one.started(d, { usage: false, busy: true })
      await two.started(d, { usage: false, busy: true })
      expect((await two.read([d], plan)).stats(d).inFlight).toBe(3)
      await one.ended(d, { releaseBusy: true })
      expect((await one.read([d], plan)).stats(d).inFlight).toBe(2)
      await one.ended(d, { releaseBusy: true })
      await one.ended(d, { releaseBusy: true }) // nothing left to release for this instance
      expect((await one.read([d], plan)).stats(d).inFlight).toBe(1)
      await two.ended(d, { releaseBusy: true })
      expect((await one.read([d], plan)).stats(d).inFlight).toBe(0)
    })

    it('keeps the last 10 latency samples, expiring after the ttl', async () => {
      const g = group()
      const d = dep(g, 'l1')
      const state = createRouterState({ counters: f.a, clock: f.clock, logger: silentLogger })
      for (let ms = 1; ms <= 12; ms++)
        await state.ended(d, { sample: { series: 'latency', ms, ttlMs: 60_000 } })
      await state.ended(d, { sample: { series: 'ttft', ms: 7.4, ttlMs: 60_000 } })
      const plan = { cooldown: false, usage: false, busy: false, latency: true, ttft: true }
      const stats = (await state.read([d], plan)).stats(d)
      expect(stats.latencyMs).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
      expect(stats.ttftMs).toEqual([7])
      expect(await f.a.ttl(routingKeys.latency(d))).toBeGreaterThan(50)
    })

    it('cools down after more than allowed_fails failures, for cooldown_time, seen by another instance', async () => {
      const g = group()
      const deployments = [dep(g, 'c1'), dep(g, 'c2')]
      const config = configOf(deployments, { allowed_fails: 2, cooldown_time: 1 })
      const one = createDeploymentRouter({
        config,
        counters: f.a,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const two = createDeploymentRouter({
        config,
        counters: f.b,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const c1 = deployments[0]!
      const writes = collector()
      for (let i = 0; i < 2; i++) one.ended(c1, { ok: false, error: serverError() }, writes.background)
      await writes.flush()
      // Two failures are allowed: random 0 still picks c1.
      expect((await two.pick(deployments, request(), new Set())).id).toBe('c1')
      one.ended(c1, { ok: false, error: serverError() }, writes.background)
      await writes.flush()
      for (let i = 0; i < 5; i++) expect((await two.pick(deployments, request(), new Set())).id).toBe('c2')
      await f.wait(1100)
      expect((await two.pick(deployments, request(), new Set())).id).toBe('c1')
    })

    it('answers 429 with the shortest cooldown left when the whole group is cooling down', async () => {
      const g = group()
      const deployments = [dep(g, 'r1'), dep(g, 'r2')]
      const config = configOf(deployments)
      const one = createDeploymentRouter({
        config,
        counters: f.a,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const two = createDeploymentRouter({
        config,
        counters: f.b,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const writes = collector()
      const limited = (retryAfter: number) =>
        new GatewayError({ status: 429, message: 'slow down', retryAfter, origin: 'upstream' })
      one.ended(deployments[0]!, { ok: false, error: limited(30) }, writes.background)
      one.ended(deployments[1]!, { ok: false, error: limited(8) }, writes.background)
      await writes.flush()
      const error = await two.pick(deployments, request(), new Set()).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RoutingError)
      const routing = error as RoutingError
      expect(routing.status).toBe(429)
      expect(routing.kind).toBe('cooldown')
      expect(routing.retryAfter).toBe(8)
      expect(routing.message).toBe(
        `No deployments available for selected model, Try again in 8 seconds. Passed model=${g}. ` +
          "pre-call-checks=False, cooldown_list=['r1', 'r2']",
      )
    })

    it('routes usage-based across instances: the deployment with fewer tokens this minute wins', async () => {
      await awayFromMinuteEdge()
      const g = group()
      const deployments = [dep(g, 'x1', { tpm: 10_000 }), dep(g, 'x2', { tpm: 10_000 })]
      const config = configOf(deployments, { routing_strategy: 'usage-based-routing-v2' })
      const one = createDeploymentRouter({
        config,
        counters: f.a,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const two = createDeploymentRouter({
        config,
        counters: f.b,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const writes = collector()
      one.started(deployments[0]!, writes.background)
      one.ended(deployments[0]!, { ok: true, tokens: 500 }, writes.background)
      await writes.flush()
      expect((await two.pick(deployments, request(), new Set())).id).toBe('x2')
      two.started(deployments[1]!, writes.background)
      two.ended(deployments[1]!, { ok: true, tokens: 9_995 }, writes.background)
      await writes.flush()
      // x2 now has the most tokens, and 10 more prompt tokens would take it over its tpm.
      expect((await one.pick(deployments, request(), new Set())).id).toBe('x1')
      one.ended(deployments[0]!, { ok: true, tokens: 9_495 }, writes.background)
      await writes.flush()
      const error = (await two
        .pick(deployments, request(), new Set())
        .catch((e: unknown) => e)) as RoutingError
      expect(error.kind).toBe('usage_limit')
      expect(error.status).toBe(429)
      expect(error.message).toContain(
        `No deployments available for selected model. Passed model=${g}. Deployments=`,
      )
      expect(error.message).toContain("'x2': {'current_tpm': 9995, 'tpm_limit': 10000, 'current_rpm': 1")
    })

    it('routes least-busy across instances', async () => {
      const g = group()
      const deployments = [dep(g, 'y1'), dep(g, 'y2')]
      const config = configOf(deployments, { routing_strategy: 'least-busy' })
      const one = createDeploymentRouter({
        config,
        counters: f.a,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const two = createDeploymentRouter({
        config,
        counters: f.b,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const writes = collector()
      one.started(deployments[0]!, writes.background)
      await writes.flush()
      expect((await two.pick(deployments, request(), new Set())).id).toBe('y2')
      two.started(deployments[1]!, writes.background)
      two.started(deployments[1]!, writes.background)
      await writes.flush()
      expect((await one.pick(deployments, request(), new Set())).id).toBe('y1')
      two.ended(deployments[1]!, { ok: true }, writes.background)
      two.ended(deployments[1]!, { ok: true }, writes.background)
      await writes.flush()
      expect((await one.pick(deployments, request(), new Set())).id).toBe('y2')
    })

    it('routes by latency across instances, measuring unmeasured deployments first', async () => {
      const g = group()
      const deployments = [dep(g, 'z1'), dep(g, 'z2')]
      const config = configOf(deployments, { routing_strategy: 'latency-based-routing' })
      const one = createDeploymentRouter({
        config,
        counters: f.a,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const two = createDeploymentRouter({
        config,
        counters: f.b,
        clock: f.clock,
        random: () => 0,
        logger: silentLogger,
      })
      const writes = collector()
      one.ended(deployments[0]!, { ok: true, latencyMs: 200 }, writes.background)
      await writes.flush()
      expect((await two.pick(deployments, request(), new Set())).id).toBe('z2') // never measured
      two.ended(deployments[1]!, { ok: true, latencyMs: 900 }, writes.background)
      await writes.flush()
      expect((await one.pick(deployments, request(), new Set())).id).toBe('z1')
      // Streams rank by time to first token where there are samples.
      two.ended(deployments[1]!, { ok: true, latencyMs: 50, streamed: true }, writes.background)
      one.ended(deployments[0]!, { ok: true, latencyMs: 120, streamed: true }, writes.background)
      await writes.flush()
      expect((await one.pick(deployments, request(true), new Set())).id).toBe('z2')
      expect((await one.pick(deployments, request(false), new Set())).id).toBe('z1')
    })
  })
}
