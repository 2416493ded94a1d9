import type { Caller } from '../keys/virtual-key'
import type { Logger } from '../observability/logger'
import type { ChatRequest } from '../openai/chat-request'
import type { Counters } from '../store/counters'
import { memoryCounters } from '../store/memory-counters'
import { entityKeys, type LimitedEntity, limitedEntities } from './limit-entities'
import { limitsUnavailableError, rateLimitError } from './limit-error'
import { reserveScript, settleScript, type WindowUsage } from './limit-scripts'
import { estimateCallTokens } from './token-estimate'

export const WINDOW_MS = 60_000
/** In-flight slots expire after this, so a crashed instance cannot hold them forever. */
export const PARALLEL_TTL_MS = 10 * 60_000

export interface LimiterDeps {
  /** The shared counters; absent without stores (then only the master key can call). */
  counters: Counters | undefined
  logger: Logger
  failClosed: boolean
}

/** A granted call's hold on its limits; `settle` runs once, whatever calls it later. */
export interface Reservation {
  /** x-ratelimit-* headers for the key's own limits (empty when the key itself has none). */
  headers: Record<string, string>
  /** Corrects the reserved tokens to the actual total (0 when unknown) and frees the parallel slots. */
  settle(actualTokens?: number): Promise<void>
}

/** Per-instance fallback counters while the shared ones are unreachable (one per shared store). */
const fallbacks = new WeakMap<Counters, Counters>()
const warned = new WeakSet<Counters>()
/** Shared stores the limiter last found unreachable (cleared by the next call that reaches them). */
const degraded = new WeakSet<Counters>()

/** Whether rate limits currently run per instance because `counters` is unreachable (/health/readiness). */
export const limitsDegraded = (counters: Counters | undefined): boolean =>
  counters !== undefined && degraded.has(counters)

async function runOrFallBack<T>(
  deps: LimiterDeps,
  counters: Counters,
  use: (c: Counters) => Promise<T>,
): Promise<{ value: T; used: Counters }> {
  try {
    const value = await use(counters)
    degraded.delete(counters)
    return { value, used: counters }
  } catch (error) {
    degraded.add(counters)
    if (deps.failClosed) throw limitsUnavailableError(error)
    if (!warned.has(counters)) {
      warned.add(counters)
      deps.logger.warn('rate-limit counters unreachable: limiting per instance', { error })
    }
    let local = fallbacks.get(counters)
    if (!local) {
      local = memoryCounters()
      fallbacks.set(counters, local)
    }
    return { value: await use(local), used: local }
  }
}

function args(entity: LimitedEntity, estimate: number): number[] {
  return [entity.rpm ?? -1, entity.tpm ?? -1, entity.parallel ?? -1, entity.tpm === null ? 0 : estimate]
}

function keyHeaders(
  entity: LimitedEntity | undefined,
  usage: WindowUsage | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (entity?.descriptor !== 'api_key' || !usage) return headers
  if (entity.rpm !== null) {
    headers['x-ratelimit-limit-requests'] = String(entity.rpm)
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, entity.rpm - usage.requests))
  }
  if (entity.tpm !== null) {
    headers['x-ratelimit-limit-tokens'] = String(entity.tpm)
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, entity.tpm - usage.tokens))
  }
  return headers
}

/**
 * Checks and reserves every rate limit that applies to a call of `group` in one atomic script run.
 * Resolves undefined when none applies (no counter round trip); throws the 429 when one is reached,
 * or 503 when the counters are down and `rate_limit_fail_closed` is set.
 */
export async function reserveLimits(
  deps: LimiterDeps,
  caller: Caller,
  group: string,
  body: ChatRequest,
): Promise<Reservation | undefined> {
  const entities = limitedEntities(caller, group)
  const shared = deps.counters
  if (entities.length === 0 || !shared) return undefined
  const estimate = estimateCallTokens(body)
  const keys = entities.flatMap(entityKeys)
  const reserveArgs = [WINDOW_MS, PARALLEL_TTL_MS, ...entities.flatMap((e) => args(e, estimate))]
  const { value: result, used } = await runOrFallBack(deps, shared, (c) =>
    c.run(reserveScript, keys, reserveArgs),
  )
  if (!result.ok) {
    const entity = entities[result.entity] ?? entities[0]
    if (!entity) throw new Error('rate-limit script named no entity')
    const retry = result.type === 'max_parallel_requests' ? 1 : Math.ceil(result.retryMs / 1000)
    throw rateLimitError(entity, result.type, result.limit, result.remaining, retry)
  }
  let settled = false
  return {
    headers: keyHeaders(entities[0], result.entities[0]),
    async settle(actualTokens = 0) {
      if (settled) return
      settled = true
      const delta = Math.round(actualTokens) - estimate
      const settleArgs = entities.flatMap((e) => [e.tpm === null ? 0 : delta, e.parallel === null ? 0 : 1])
      try {
        await used.run(settleScript, keys, settleArgs)
      } catch (error) {
        // The parallel slots expire on their own; tokens stay at the estimate for this window.
        deps.logger.warn('rate-limit settle failed', { error })
      }
    },
  }
}
