import type { Deployment } from '../providers/types'
import { priceFor } from '../spend/cost'
import { pickDeployment } from './pick-deployment'
import type { RoutingStrategy } from './routing-settings'

/** What the shared state says about one deployment when a routing decision is made. */
export interface DeploymentStats {
  /** Requests started in the current UTC minute, across instances. */
  rpm: number
  /** Tokens used in the current UTC minute, across instances. */
  tpm: number
  /** Calls in flight, across instances. */
  inFlight: number
  /** Latency samples in ms (non-streaming answers and timeouts), oldest first. */
  latencyMs: number[]
  /** Time-to-first-token samples in ms (streaming calls), oldest first. */
  ttftMs: number[]
}

export const EMPTY_STATS: DeploymentStats = { rpm: 0, tpm: 0, inFlight: 0, latencyMs: [], ttftMs: [] }

export interface StrategyInput {
  /** Candidates: healthy, within their limits, one order tier; never empty. */
  deployments: readonly Deployment[]
  stats: (deployment: Deployment) => DeploymentStats
  stream: boolean
  latencyBuffer: number
  random: () => number
}

/** A uniformly random one of `items` (never empty). */
export const randomOf = <T>(items: readonly T[], random: () => number): T =>
  items[Math.min(items.length - 1, Math.floor(random() * items.length))]!

/** The items with the lowest score, one chosen at random (LiteLLM shuffles before it sorts). */
function lowest<T>(items: readonly T[], score: (item: T) => number, random: () => number): T {
  let best = Number.POSITIVE_INFINITY
  let ties: T[] = []
  for (const item of items) {
    const s = score(item)
    if (s < best) {
      best = s
      ties = [item]
    } else if (s === best) ties.push(item)
  }
  return randomOf(ties.length > 0 ? ties : items, random)
}

/** `least-busy`: the fewest calls in flight. */
export const leastBusy = (input: StrategyInput): Deployment =>
  lowest(input.deployments, (d) => input.stats(d).inFlight, input.random)

/** `usage-based-routing(-v2)`: the fewest tokens used this minute. */
export const lowestUsage = (input: StrategyInput): Deployment =>
  lowest(input.deployments, (d) => input.stats(d).tpm, input.random)

const average = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length

/**
 * The latency a deployment is ranked by: for a streaming request its average time to first token
 * when it has such samples, else its average answer time (LiteLLM's lowest_latency). A deployment
 * without samples ranks as 0, so new deployments are tried first and get measured.
 */
export function rankedLatency(stats: DeploymentStats, stream: boolean): number {
  if (stream && stats.ttftMs.length > 0) return average(stats.ttftMs)
  return average(stats.latencyMs)
}

/**
 * `latency-based-routing`: a random one among the deployments within `lowest_latency_buffer`
 * (a fraction) of the fastest; with the default buffer 0, the fastest.
 */
export function lowestLatency(input: StrategyInput): Deployment {
  const ranked = input.deployments.map((d) => ({ d, latency: rankedLatency(input.stats(d), input.stream) }))
  const fastest = Math.min(...ranked.map((r) => r.latency))
  const limit = fastest + fastest * input.latencyBuffer
  return randomOf(
    ranked.filter((r) => r.latency <= limit),
    input.random,
  ).d
}

/**
 * What cost-based routing compares: input plus output price per token, from custom prices or the
 * price map (LiteLLM's lowest_cost). A price it cannot find counts as 1 USD per token, so any priced
 * deployment wins over an unpriced one.
 */
export function costPerToken(deployment: Deployment): number {
  const price = priceFor(deployment)
  return (price?.input_cost_per_token ?? 1) + (price?.output_cost_per_token ?? 1)
}

/** `cost-based-routing`: the cheapest; ties at random. */
export const lowestCost = (input: StrategyInput): Deployment =>
  lowest(input.deployments, costPerToken, input.random)

/** The deployment `strategy` picks among `input.deployments`. */
export function chooseDeployment(strategy: RoutingStrategy, input: StrategyInput): Deployment {
  switch (strategy) {
    case 'least-busy':
      return leastBusy(input)
    case 'usage-based-routing':
    case 'usage-based-routing-v2':
      return lowestUsage(input)
    case 'latency-based-routing':
      return lowestLatency(input)
    case 'cost-based-routing':
      return lowestCost(input)
    default:
      return pickDeployment(input.deployments, input.random)
  }
}

/** Whether the strategy ranks by shared state (and so needs it read even without limits). */
export const strategyReads = (strategy: RoutingStrategy): 'usage' | 'busy' | 'latency' | undefined =>
  strategy === 'usage-based-routing' || strategy === 'usage-based-routing-v2'
    ? 'usage'
    : strategy === 'least-busy'
      ? 'busy'
      : strategy === 'latency-based-routing'
        ? 'latency'
        : undefined

/** Strategies that drop deployments whose rpm/tpm the call would exceed (LiteLLM filters in each). */
export const filtersByCapacity = (strategy: RoutingStrategy): boolean =>
  strategy === 'usage-based-routing' ||
  strategy === 'usage-based-routing-v2' ||
  strategy === 'latency-based-routing' ||
  strategy === 'cost-based-routing'
