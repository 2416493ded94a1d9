import type { Logger } from '../observability/logger'
import type { Deployment } from '../providers/types'
import type { Counters } from '../store/counters'
import { memoryCounters } from '../store/memory-counters'
import { RoutingOps, routingApplyScript } from './router-scripts'
import { type DeploymentStats, EMPTY_STATS } from './strategies'

/**
 * The routing state several gateway instances share, per deployment, in the counter store:
 *
 *   router:{<group>}:cooldown:<id>          until-ms; expires when the cooldown ends
 *   router:{<group>}:fails:<id>             failures in the window opened by the first (60 s)
 *   router:{<group>}:rpm:<id>:<minute>      requests started in that UTC minute (expires after 120 s)
 *   router:{<group>}:tpm:<id>:<minute>      tokens used in that UTC minute
 *   router:{<group>}:busy:<id>:<bucket>     calls in flight that started in a 5-minute bucket
 *   router:{<group>}:latency:<id>           last 10 answer times (ms), comma-separated
 *   router:{<group>}:ttft:<id>              last 10 times to first token (ms), for streams
 *
 * `minute` and `bucket` count from the epoch in UTC. The `{group}` hash tag keeps a group's keys in
 * one Redis Cluster slot, so one MGET reads them. In-flight counts live in 5-minute buckets read
 * two at a time: a call is counted for 5–10 minutes at most, so one that never reports back (its
 * instance crashed) stops counting by itself, whatever the traffic.
 */
export const MINUTE_MS = 60_000
export const USAGE_TTL_MS = 120_000
export const FAIL_WINDOW_MS = 60_000
export const BUSY_BUCKET_MS = 5 * 60_000
export const LATENCY_SAMPLES = 10
/** A pick waits no longer than this for the shared state, then routes on the instance's own. */
export const READ_DEADLINE_MS = 1000
/** After a failure the shared store is tried again this much later (meanwhile: per instance). */
export const RETRY_SHARED_MS = 5000

const tag = (d: Deployment): string => `router:{${d.modelName}}`

export const routingKeys = {
  cooldown: (d: Deployment) => `${tag(d)}:cooldown:${d.id}`,
  fails: (d: Deployment) => `${tag(d)}:fails:${d.id}`,
  rpm: (d: Deployment, minute: number) => `${tag(d)}:rpm:${d.id}:${minute}`,
  tpm: (d: Deployment, minute: number) => `${tag(d)}:tpm:${d.id}:${minute}`,
  busy: (d: Deployment, bucket: number) => `${tag(d)}:busy:${d.id}:${bucket}`,
  latency: (d: Deployment) => `${tag(d)}:latency:${d.id}`,
  ttft: (d: Deployment) => `${tag(d)}:ttft:${d.id}`,
}

/** Which parts of the state one routing decision needs. */
export interface ReadPlan {
  cooldown: boolean
  usage: boolean
  busy: boolean
  latency: boolean
  ttft: boolean
}

export const needsRead = (plan: ReadPlan): boolean =>
  plan.cooldown || plan.usage || plan.busy || plan.latency || plan.ttft

export interface StateSnapshot {
  /** Epoch ms the deployment's cooldown ends, when it is cooling down. */
  cooldownUntil(d: Deployment): number | undefined
  stats(d: Deployment): DeploymentStats
}

export const EMPTY_SNAPSHOT: StateSnapshot = { cooldownUntil: () => undefined, stats: () => EMPTY_STATS }

/** What an ended attempt writes. */
export interface EndedWrites {
  /** Tokens to add to this minute's tpm. */
  tokens?: number
  /** Whether `started` took an in-flight slot to give back. */
  releaseBusy?: boolean
  sample?: { series: 'latency' | 'ttft'; ms: number; ttlMs: number }
  cooldown?: { kind: 'now'; ms: number } | { kind: 'count'; allowedFails: number; ms: number }
}

export interface RouterHealth {
  /** Where routing state lives: the shared store's kind, or `local` without one. */
  store: Counters['kind'] | 'local'
  /** The shared store is unreachable: routing runs on this instance's own state until it is back. */
  degraded: boolean
}

export interface RouterState {
  read(deployments: readonly Deployment[], plan: ReadPlan): Promise<StateSnapshot>
  /** Counts a started request (rpm) and, with `busy`, takes an in-flight slot. */
  started(d: Deployment, opts: { usage: boolean; busy: boolean }): Promise<void>
  /** Resolves true when the attempt put the deployment in cooldown. */
  ended(d: Deployment, writes: EndedWrites): Promise<boolean>
  health(): RouterHealth
}

export interface RouterStateDeps {
  counters: Counters | undefined
  clock: () => number
  logger: Logger
  readDeadlineMs?: number
  retrySharedMs?: number
}

const int = (value: string | null | undefined): number => {
  const n = Number(value ?? '0')
  return Number.isFinite(n) ? n : 0
}

const samples = (value: string | null | undefined): number[] =>
  value ? value.split(',').map(Number).filter(Number.isFinite) : []

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`routing state read took over ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

export function createRouterState(deps: RouterStateDeps): RouterState {
  const local = memoryCounters(deps.clock)
  const shared = deps.counters
  const readDeadline = deps.readDeadlineMs ?? READ_DEADLINE_MS
  const retryMs = deps.retrySharedMs ?? RETRY_SHARED_MS
  let degraded = false
  let retryAt = 0
  /** Per deployment, the busy bucket of each call this instance has in flight (released in order). */
  const busyBuckets = new Map<string, number[]>()

  /**
   * Runs `op` on the shared store, or on this instance's own while the shared one is failing. A
   * failure is logged once per outage; the shared store is tried again every `retryMs`.
   */
  async function use<T>(op: (c: Counters) => Promise<T>, deadline?: number): Promise<T> {
    if (!shared) return op(local)
    if (degraded && deps.clock() < retryAt) return op(local)
    try {
      const value = await (deadline === undefined ? op(shared) : withDeadline(op(shared), deadline))
      if (degraded) {
        degraded = false
        deps.logger.info('routing state store reachable again: routing on shared state', {
          store: shared.kind,
        })
      }
      return value
    } catch (error) {
      retryAt = deps.clock() + retryMs
      if (!degraded) {
        degraded = true
        deps.logger.warn('routing state store unreachable: routing on per-instance state', {
          store: shared.kind,
          error,
        })
      }
      return op(local)
    }
  }

  return {
    async read(deployments, plan) {
      const now = deps.clock()
      const minute = Math.floor(now / MINUTE_MS)
      const bucket = Math.floor(now / BUSY_BUCKET_MS)
      const keys: string[] = []
      const at = new Map<string, Record<string, number>>()
      for (const d of deployments) {
        const slots: Record<string, number> = {}
        const add = (name: string, key: string) => {
          slots[name] = keys.length
          keys.push(key)
        }
        if (plan.cooldown) add('cooldown', routingKeys.cooldown(d))
        if (plan.usage) {
          add('rpm', routingKeys.rpm(d, minute))
          add('tpm', routingKeys.tpm(d, minute))
        }
        if (plan.busy) {
          add('busy', routingKeys.busy(d, bucket))
          add('busyBefore', routingKeys.busy(d, bucket - 1))
        }
        if (plan.latency) add('latency', routingKeys.latency(d))
        if (plan.ttft) add('ttft', routingKeys.ttft(d))
        at.set(d.id, slots)
      }
      if (keys.length === 0) return EMPTY_SNAPSHOT
      const values = await use((c) => c.mget(keys), readDeadline)
      const value = (d: Deployment, name: string): string | null | undefined => {
        const slot = at.get(d.id)?.[name]
        return slot === undefined ? undefined : values[slot]
      }
      return {
        cooldownUntil(d) {
          const v = value(d, 'cooldown')
          if (v === null || v === undefined) return undefined
          const until = Number(v)
          return Number.isFinite(until) ? until : now
        },
        stats(d) {
          return {
            rpm: int(value(d, 'rpm')),
            tpm: int(value(d, 'tpm')),
            inFlight: Math.max(0, int(value(d, 'busy'))) + Math.max(0, int(value(d, 'busyBefore'))),
            latencyMs: samples(value(d, 'latency')),
            ttftMs: samples(value(d, 'ttft')),
          }
        },
      }
    },

    async started(d, opts) {
      const now = deps.clock()
      const ops = new RoutingOps()
      if (opts.usage) ops.incr(routingKeys.rpm(d, Math.floor(now / MINUTE_MS)), 1, USAGE_TTL_MS)
      if (opts.busy) {
        const bucket = Math.floor(now / BUSY_BUCKET_MS)
        const queue = busyBuckets.get(d.id)
        if (queue) queue.push(bucket)
        else busyBuckets.set(d.id, [bucket])
        // Two buckets are read, so a slot must outlive the next one.
        ops.incr(routingKeys.busy(d, bucket), 1, 2 * BUSY_BUCKET_MS)
      }
      if (!ops.empty) await use((c) => c.run(routingApplyScript, ops.keys, ops.args))
    },

    async ended(d, writes) {
      const now = deps.clock()
      const ops = new RoutingOps()
      if (writes.tokens !== undefined && writes.tokens > 0) {
        ops.incr(routingKeys.tpm(d, Math.floor(now / MINUTE_MS)), writes.tokens, USAGE_TTL_MS)
      }
      if (writes.releaseBusy) {
        const queue = busyBuckets.get(d.id)
        const bucket = queue?.shift()
        if (queue?.length === 0) busyBuckets.delete(d.id)
        if (bucket !== undefined) ops.release(routingKeys.busy(d, bucket))
      }
      if (writes.sample) {
        const key = writes.sample.series === 'ttft' ? routingKeys.ttft(d) : routingKeys.latency(d)
        ops.sample(key, writes.sample.ms, LATENCY_SAMPLES, writes.sample.ttlMs)
      }
      const cooldown = writes.cooldown
      if (cooldown?.kind === 'now') ops.cooldown(routingKeys.cooldown(d), now + cooldown.ms, cooldown.ms)
      if (cooldown?.kind === 'count') {
        const { allowedFails, ms } = cooldown
        ops.fail(routingKeys.fails(d), routingKeys.cooldown(d), allowedFails, FAIL_WINDOW_MS, now + ms, ms)
      }
      if (ops.empty) return false
      return (await use((c) => c.run(routingApplyScript, ops.keys, ops.args))) === 1
    },

    health() {
      return { store: shared?.kind ?? 'local', degraded }
    },
  }
}
