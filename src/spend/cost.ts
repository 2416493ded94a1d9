import type { Logger } from '../observability/logger'
import type { Usage } from '../openai/chat-response'
import type { Deployment } from '../providers/types'
import { lookupPrice, type PriceEntry } from './prices'

/** The price-map fields a config may override per deployment (LiteLLM's custom pricing keys). */
const COST_FIELDS = [
  'input_cost_per_token',
  'output_cost_per_token',
  'cache_read_input_token_cost',
  'cache_creation_input_token_cost',
  'input_cost_per_second',
  'output_cost_per_second',
] as const

type CostField = (typeof COST_FIELDS)[number]
type Costs = Partial<Record<CostField, number>>

/** Which layer supplied the price: the highest-precedence one that set any field. */
export type PriceSource = 'litellm_params' | 'model_info' | 'base_model' | 'model'

/** USD per token (or per second) for one deployment; every field is optional, absent means 0. */
export interface Price extends Costs {
  source: PriceSource
  /** The price-map key used, when the bundled table contributed. */
  key?: string
}

/**
 * A cost from config: a number, or a numeric string (`os.environ/…` values and the cache keys the
 * schema does not type arrive as strings). Negative and non-finite values are ignored rather than
 * trusted, so a typo cannot turn spend negative.
 */
function costValue(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined
}

function costsOf(source: Readonly<Record<string, unknown>> | Readonly<PriceEntry>): Costs {
  const costs: Costs = {}
  for (const field of COST_FIELDS) {
    const value = costValue(source[field])
    if (value !== undefined) costs[field] = value
  }
  return costs
}

const hasAny = (costs: Costs): boolean => Object.keys(costs).length > 0
const hasTokenPrice = (costs: Costs): boolean =>
  costs.input_cost_per_token !== undefined || costs.output_cost_per_token !== undefined
const hasSecondPrice = (costs: Costs): boolean =>
  costs.input_cost_per_second !== undefined || costs.output_cost_per_second !== undefined

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/**
 * The price of a deployment, with LiteLLM's precedence: custom costs in `litellm_params` over those
 * in `model_info`, over the table entry of `base_model` (`model_info.base_model`, else
 * `litellm_params.base_model`), over the table entry of the deployment's own model. Custom fields
 * override the table field by field, as LiteLLM's `register_model` merges them, so a custom input
 * price keeps the table's cache prices.
 *
 * One exception: a deployment whose custom costs are per second only (the usual SageMaker setup) is
 * priced per second even if its model name also matches a table entry, since the operator asked for
 * time-based billing.
 *
 * Undefined when nothing prices the deployment; callers then log a cost of 0 with a warning, as
 * LiteLLM does, and never fail the request over it.
 */
export function priceFor(deployment: Deployment): Price | undefined {
  const fromParams = costsOf(deployment.params)
  const fromInfo = costsOf(deployment.modelInfo)
  const custom: Costs = { ...fromInfo, ...fromParams }
  const customSource: PriceSource | undefined = hasAny(fromParams)
    ? 'litellm_params'
    : hasAny(fromInfo)
      ? 'model_info'
      : undefined

  if (customSource !== undefined && hasSecondPrice(custom) && !hasTokenPrice(custom)) {
    return { ...custom, source: customSource }
  }

  const baseModel = text(deployment.modelInfo.base_model) ?? text(deployment.params.base_model)
  const fromBase = baseModel === undefined ? undefined : lookupPrice(baseModel)
  const table = fromBase ?? lookupPrice(deployment.params.model)
  const tableCosts = table === undefined ? {} : costsOf(table.entry)
  const merged: Costs = { ...tableCosts, ...custom }
  if (!hasTokenPrice(merged) && !hasSecondPrice(merged)) return undefined

  const source = customSource ?? (fromBase !== undefined ? 'base_model' : 'model')
  return table === undefined ? { ...merged, source } : { ...merged, source, key: table.key }
}

/** A token count from a provider: non-negative integer, anything else counts as 0. */
const tokens = (n: number | undefined): number =>
  typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0

/**
 * Rounds to a pico-dollar. Each product of a token count and a per-token price carries a binary
 * rounding error (1000 × 3e-6 is 0.0030000000000000005); the smallest per-token price in the table
 * is 2e-8, so 1e-12 keeps every real digit while making sums of the same usage compare equal.
 */
const roundUsd = (usd: number): number => Math.round(usd * 1e12) / 1e12

/**
 * How the prompt splits for billing. `prompt_tokens` already includes cache reads and writes (see
 * `mapUsage` in the Bedrock Converse mapping), so the uncached part is what is left after both; cache
 * reads come from `cache_read_input_tokens`, else OpenAI's `prompt_tokens_details.cached_tokens`.
 * Counts are clamped so a provider reporting more cached than prompt tokens cannot bill negative input.
 */
export function promptSplit(usage: Usage): { uncached: number; cacheRead: number; cacheWrite: number } {
  const prompt = tokens(usage.prompt_tokens)
  const cacheRead = Math.min(
    tokens(usage.cache_read_input_tokens ?? usage.prompt_tokens_details?.cached_tokens),
    prompt,
  )
  const cacheWrite = Math.min(tokens(usage.cache_creation_input_tokens), prompt - cacheRead)
  return { uncached: prompt - cacheRead - cacheWrite, cacheRead, cacheWrite }
}

/**
 * USD for one call. Per-token prices: uncached prompt tokens at the input price, cache reads at
 * `cache_read_input_token_cost` and writes at `cache_creation_input_token_cost` (each falling back to
 * the input price when the entry has none, as Bedrock bills models without prompt caching), and
 * completion tokens at the output price. A price with no per-token field but a per-second one bills
 * `durationMs` instead (0 when the duration is unknown). Parts are added in a fixed order and the
 * total rounded, so the same usage always yields the same number.
 */
export function costOf(usage: Usage, price: Price, durationMs?: number): number {
  if (!hasTokenPrice(price) && hasSecondPrice(price)) {
    const seconds = typeof durationMs === 'number' && durationMs > 0 ? durationMs / 1000 : 0
    const perSecond = (price.input_cost_per_second ?? 0) + (price.output_cost_per_second ?? 0)
    return roundUsd(perSecond * seconds)
  }
  const input = price.input_cost_per_token ?? 0
  const { uncached, cacheRead, cacheWrite } = promptSplit(usage)
  const parts = [
    uncached * input,
    cacheRead * (price.cache_read_input_token_cost ?? input),
    cacheWrite * (price.cache_creation_input_token_cost ?? input),
    tokens(usage.completion_tokens) * (price.output_cost_per_token ?? 0),
  ]
  return roundUsd(parts.reduce((sum, part) => sum + part, 0))
}

/**
 * The cost callers record for a finished call: `costOf` with the deployment's price, or 0 with a
 * warning when the deployment has none (LiteLLM logs the same and records spend 0). Never throws,
 * because a missing price must not fail a request that already succeeded.
 */
export function callCost(
  deployment: Deployment,
  usage: Usage,
  durationMs: number | undefined,
  logger: Pick<Logger, 'warn'>,
): number {
  const price = priceFor(deployment)
  if (price === undefined) {
    logger.warn('no price for model; spend recorded as 0', {
      model: deployment.params.model,
      model_id: deployment.id,
      hint: 'set model_info.base_model or input_cost_per_token / output_cost_per_token',
    })
    return 0
  }
  return costOf(usage, price, durationMs)
}
