import { ROUTING_STRATEGIES } from '../config/schema'
import { routerSetting } from '../config/settings'
import type { GatewayConfig } from '../config/types'

export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number]

/** LiteLLM's `allowed_fails_policy` keys (router_settings), one per exception class. */
export type AllowedFailsPolicy = Partial<
  Record<
    | 'BadRequestErrorAllowedFails'
    | 'AuthenticationErrorAllowedFails'
    | 'TimeoutErrorAllowedFails'
    | 'RateLimitErrorAllowedFails'
    | 'ContentPolicyViolationErrorAllowedFails'
    | 'InternalServerErrorAllowedFails',
    number
  >
>

/** Everything routing reads from `router_settings` (and, where LiteLLM allows, `litellm_settings`). */
export interface RoutingSettings {
  /** Unknown values were warned about at config load (schema.ts) and route as simple-shuffle. */
  strategy: RoutingStrategy
  /** `routing_strategy_args.ttl`: seconds latency samples are kept after the last one (LiteLLM: 1 h). */
  latencyTtlSeconds: number
  /** `routing_strategy_args.lowest_latency_buffer`: within this fraction of the fastest counts as fastest. */
  latencyBuffer: number
  /** `allowed_fails`: failures per minute a deployment may have before it cools down (LiteLLM: 3). */
  allowedFails: number
  /** `cooldown_time` in seconds (LiteLLM: 5). */
  cooldownSeconds: number
  disableCooldowns: boolean
  allowedFailsPolicy: AllowedFailsPolicy
  enablePreCallChecks: boolean
}

export const DEFAULT_ALLOWED_FAILS = 3
export const DEFAULT_COOLDOWN_SECONDS = 5
export const DEFAULT_LATENCY_TTL_SECONDS = 60 * 60

const isStrategy = (value: unknown): value is RoutingStrategy =>
  typeof value === 'string' && (ROUTING_STRATEGIES as readonly string[]).includes(value)

const nonNegative = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}

export function routingSettings(
  config: Pick<GatewayConfig, 'routerSettings' | 'litellmSettings'>,
): RoutingSettings {
  const router = config.routerSettings
  const args = record(router.routing_strategy_args)
  const policy: AllowedFailsPolicy = {}
  for (const [key, value] of Object.entries(record(router.allowed_fails_policy))) {
    const n = nonNegative(value)
    if (n !== undefined) policy[key as keyof AllowedFailsPolicy] = n
  }
  return {
    strategy: isStrategy(router.routing_strategy) ? router.routing_strategy : 'simple-shuffle',
    latencyTtlSeconds: positive(args.ttl) ?? DEFAULT_LATENCY_TTL_SECONDS,
    latencyBuffer: nonNegative(args.lowest_latency_buffer) ?? 0,
    allowedFails: nonNegative(routerSetting(config, 'allowed_fails')) ?? DEFAULT_ALLOWED_FAILS,
    cooldownSeconds: positive(routerSetting(config, 'cooldown_time')) ?? DEFAULT_COOLDOWN_SECONDS,
    disableCooldowns: routerSetting(config, 'disable_cooldowns') === true,
    allowedFailsPolicy: policy,
    enablePreCallChecks: router.enable_pre_call_checks === true,
  }
}

function positive(value: unknown): number | undefined {
  const n = nonNegative(value)
  return n !== undefined && n > 0 ? n : undefined
}
