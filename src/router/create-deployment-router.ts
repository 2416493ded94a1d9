import type { GatewayConfig } from '../config/types'
import type { Logger } from '../observability/logger'
import type { Deployment } from '../providers/types'
import type { Counters } from '../store/counters'
import { atLimit, fitsContext, hasLimits, wouldExceed } from './capacity-checks'
import { cooldownAction } from './cooldown-policy'
import type { AttemptOutcome, Background, DeploymentRouter } from './deployment-router'
import { lowestOrderTier } from './order-tiers'
import {
  createRouterState,
  EMPTY_SNAPSHOT,
  type EndedWrites,
  MINUTE_MS,
  needsRead,
  type ReadPlan,
  type RouterHealth,
} from './router-state'
import { contextWindowError, noDeploymentsError, usageLimitError } from './routing-errors'
import { routingSettings } from './routing-settings'
import { chooseDeployment, filtersByCapacity, strategyReads } from './strategies'

export interface DeploymentRouterDeps {
  config: GatewayConfig
  /** The shared counter store; absent: routing state is per instance. */
  counters: Counters | undefined
  /** Wall clock, ms since the epoch (UTC minutes, cooldown ends). */
  clock: () => number
  random: () => number
  logger: Logger
}

/** LiteLLM's timeout penalty in latency routing: a timed-out call counts as a 1000 s answer. */
const TIMEOUT_PENALTY_MS = 1_000_000

/**
 * The deployment router behind `router_settings`: routing strategy, `order` tiers, pre-call checks
 * and cooldowns, with the state they need shared across instances through the counter store
 * (router-state.ts). A pick reads that state in one MGET, or not at all when nothing in the
 * decision can depend on it; attempt reports write it in the background.
 */
export function createDeploymentRouter(deps: DeploymentRouterDeps): DeploymentRouter & {
  health(): RouterHealth
} {
  const settings = routingSettings(deps.config)
  const state = createRouterState({ counters: deps.counters, clock: deps.clock, logger: deps.logger })
  const groupSizes = new Map<string, number>()
  for (const d of deps.config.deployments) groupSizes.set(d.modelName, (groupSizes.get(d.modelName) ?? 0) + 1)
  const groupSize = (d: Deployment) => groupSizes.get(d.modelName) ?? 1
  const ranksBy = strategyReads(settings.strategy)
  const capacityFilter = filtersByCapacity(settings.strategy)
  /** Whether rpm/tpm are counted for a deployment: something reads them. */
  const tracksUsage = (d: Deployment) =>
    ranksBy === 'usage' || ((capacityFilter || settings.enablePreCallChecks) && hasLimits(d))
  const tracksBusy = (d: Deployment) => ranksBy === 'busy' && groupSize(d) > 1
  const tracksLatency = (d: Deployment) => ranksBy === 'latency' && groupSize(d) > 1
  let writeFailureLogged = false
  /** The latest in-flight increment per deployment, so its release is sent after it. */
  const startWrites = new Map<string, Promise<void>>()

  /** Fire-and-forget: the state module already falls back per instance; this only catches bugs. */
  const inBackground = (work: Promise<unknown>, background: Background | undefined) => {
    const settled = work.catch((error: unknown) => {
      if (writeFailureLogged) return
      writeFailureLogged = true
      deps.logger.warn('routing state write failed', { error })
    })
    background?.(settled)
  }

  return {
    async pick(group, request, exclude) {
      const first = group[0]
      if (!first) throw new Error('routing needs at least one deployment')
      const groupName = first.modelName
      const stream = request.body.stream === true
      const tokens = request.estimatedPromptTokens
      const several = group.length > 1
      // A group's only deployment never cools down, and a deployment addressed by its id bypasses
      // cooldowns (as in LiteLLM), so single-deployment picks read no cooldowns.
      const plan: ReadPlan = {
        cooldown: several && !settings.disableCooldowns,
        usage: group.some(tracksUsage),
        busy: several && ranksBy === 'busy',
        latency: several && ranksBy === 'latency',
        ttft: several && ranksBy === 'latency' && stream,
      }
      const snapshot = needsRead(plan) ? await state.read(group, plan) : EMPTY_SNAPSHOT
      const now = deps.clock()
      const stats = snapshot.stats

      const cooling = group.filter((d) => snapshot.cooldownUntil(d) !== undefined)
      let healthy = group.filter((d) => snapshot.cooldownUntil(d) === undefined)
      const noneLeft = (kind: 'cooldown' | 'usage_limit', retryAfterSeconds: number) =>
        noDeploymentsError({
          group: groupName,
          retryAfterSeconds,
          preCallChecks: settings.enablePreCallChecks,
          cooldownList: cooling.map((d) => d.id),
          kind,
        })
      const toNextMinute = (MINUTE_MS - (now % MINUTE_MS)) / 1000
      if (healthy.length === 0) {
        const ends = cooling.map((d) => snapshot.cooldownUntil(d) ?? now)
        throw noneLeft('cooldown', (Math.min(...ends) - now) / 1000)
      }
      if (settings.enablePreCallChecks) {
        const fitting = healthy.filter((d) => fitsContext(d, tokens))
        if (fitting.length === 0) throw contextWindowError(healthy, tokens)
        healthy = fitting.filter((d) => !atLimit(d, stats(d)))
        if (healthy.length === 0) throw noneLeft('usage_limit', toNextMinute)
      }
      if (capacityFilter) {
        const withRoom = healthy.filter((d) => !wouldExceed(d, stats(d), tokens))
        if (withRoom.length === 0) {
          throw settings.strategy === 'usage-based-routing-v2'
            ? usageLimitError(groupName, healthy, stats, toNextMinute)
            : noneLeft('usage_limit', toNextMinute)
        }
        healthy = withRoom
      }
      // Tried already in this call: prefer the others, but retry the same ones rather than fail.
      const untried = healthy.filter((d) => !exclude.has(d.id))
      const tier = lowestOrderTier(untried.length > 0 ? untried : healthy)
      return chooseDeployment(settings.strategy, {
        deployments: tier,
        stats,
        stream,
        latencyBuffer: settings.latencyBuffer,
        random: deps.random,
      })
    },

    started(deployment, background) {
      const usage = tracksUsage(deployment)
      const busy = tracksBusy(deployment)
      if (!usage && !busy) return
      const write = state.started(deployment, { usage, busy })
      // Separate REST calls (Upstash) are not ordered: an attempt's release must not overtake its
      // increment, or a phantom in-flight call would skew least-busy for minutes.
      startWrites.set(deployment.id, write)
      void write
        .catch(() => undefined)
        .finally(() => {
          if (startWrites.get(deployment.id) === write) startWrites.delete(deployment.id)
        })
      inBackground(write, background)
    },

    ended(deployment, outcome, background) {
      const writes = endedWrites(deployment, outcome)
      if (Object.keys(writes).length === 0) return
      const afterStart = startWrites.get(deployment.id) ?? Promise.resolve()
      const work = afterStart
        .catch(() => undefined)
        .then(() => state.ended(deployment, writes))
        .then((cooled) => {
          if (!cooled) return
          deps.logger.info('deployment cooling down', {
            model_group: deployment.modelName,
            model_id: deployment.id,
            status: outcome.error?.status,
            seconds: writes.cooldown?.ms === undefined ? undefined : writes.cooldown.ms / 1000,
          })
        })
      inBackground(work, background)
    },

    health: () => state.health(),
  }

  /**
   * Only a failure the deployment caused counts against it: not a client that hung up (no error),
   * not a mock drill, not a timeout the caller shortened (`affectsDeployment: false`).
   */
  function blamed(outcome: AttemptOutcome): boolean {
    return !outcome.ok && outcome.error !== undefined && outcome.error.affectsDeployment
  }

  function endedWrites(d: Deployment, outcome: AttemptOutcome): EndedWrites {
    const writes: EndedWrites = {}
    if (tracksUsage(d) && outcome.tokens !== undefined && outcome.tokens > 0) writes.tokens = outcome.tokens
    if (tracksBusy(d)) writes.releaseBusy = true
    if (tracksLatency(d)) {
      const ttlMs = settings.latencyTtlSeconds * 1000
      if (outcome.ok && outcome.latencyMs !== undefined && outcome.latencyMs >= 0) {
        writes.sample = { series: outcome.streamed ? 'ttft' : 'latency', ms: outcome.latencyMs, ttlMs }
      } else if (blamed(outcome) && outcome.error?.status === 408) {
        writes.sample = { series: 'latency', ms: TIMEOUT_PENALTY_MS, ttlMs }
      }
    }
    if (blamed(outcome)) {
      const action = cooldownAction(d, outcome.error, settings, groupSize(d))
      if (action.kind === 'now') writes.cooldown = { kind: 'now', ms: action.seconds * 1000 }
      if (action.kind === 'count') {
        writes.cooldown = { kind: 'count', allowedFails: action.allowedFails, ms: action.seconds * 1000 }
      }
    }
    return writes
  }
}
