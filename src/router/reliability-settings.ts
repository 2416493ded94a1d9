import { routerSetting } from '../config/settings'
import type { GatewayConfig } from '../config/types'

/** `[{group: [fallback groups]}]`; the `"*"` group matches every model group. */
export type FallbackList = Array<Record<string, string[]>>

/** LiteLLM's `RetryPolicy` fields: retries per exception class, overriding `num_retries`. */
export const RETRY_POLICY_KEYS = [
  'BadRequestErrorRetries',
  'AuthenticationErrorRetries',
  'TimeoutErrorRetries',
  'RateLimitErrorRetries',
  'ContentPolicyViolationErrorRetries',
  'InternalServerErrorRetries',
] as const
export type RetryPolicyKey = (typeof RETRY_POLICY_KEYS)[number]

export interface ReliabilitySettings {
  numRetries: number
  retryPolicy: Partial<Record<RetryPolicyKey, number>>
  /** `retry_after`: the least wait before any retry, in seconds. */
  retryAfterSeconds: number
  fallbacks: FallbackList | undefined
  contextWindowFallbacks: FallbackList | undefined
  contentPolicyFallbacks: FallbackList | undefined
  /** How deep fallbacks may chain (LiteLLM's `max_fallbacks`, default 5). */
  maxFallbacks: number
}

const DEFAULT_MAX_FALLBACKS = 5
/** The most retries a request may ask for (`num_retries` in the body), unless the config allows more. */
export const MAX_REQUEST_RETRIES = 10

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

const list = (value: unknown): FallbackList | undefined =>
  Array.isArray(value) ? (value as FallbackList) : undefined

/**
 * The gateway-wide reliability settings, read once. LiteLLM's Router takes each from
 * router_settings, else litellm_settings; `default_fallbacks` become a trailing `{"*": [...]}`
 * entry of `fallbacks`, exactly as Router.__init__ appends it (so error messages show it too).
 * `num_retries` defaults to 0 as in the Router: retries are opt-in.
 */
export function reliabilitySettings(config: Pick<GatewayConfig, 'routerSettings' | 'litellmSettings'>) {
  const defaults = routerSetting(config, 'default_fallbacks')
  let fallbacks = list(routerSetting(config, 'fallbacks'))
  if (Array.isArray(defaults) && defaults.length > 0) {
    fallbacks = [...(fallbacks ?? []), { '*': defaults as string[] }]
  }
  const policy = config.routerSettings.retry_policy
  const retryPolicy: Partial<Record<RetryPolicyKey, number>> = {}
  if (policy && typeof policy === 'object') {
    for (const key of RETRY_POLICY_KEYS) {
      const n = count((policy as Record<string, unknown>)[key])
      if (n !== undefined) retryPolicy[key] = n
    }
  }
  const settings: ReliabilitySettings = {
    numRetries: count(routerSetting(config, 'num_retries')) ?? 0,
    retryPolicy,
    retryAfterSeconds: count(config.routerSettings.retry_after) ?? 0,
    fallbacks,
    contextWindowFallbacks: list(routerSetting(config, 'context_window_fallbacks')),
    contentPolicyFallbacks: list(routerSetting(config, 'content_policy_fallbacks')),
    maxFallbacks: count(config.routerSettings.max_fallbacks) ?? DEFAULT_MAX_FALLBACKS,
  }
  return settings
}

/**
 * Per-request overrides LiteLLM accepts in the body: `num_retries`, `fallbacks` (a
 * `[{group: [...]}]` list, or a client-side list of groups), `context_window_fallbacks`,
 * `content_policy_fallbacks`.
 */
export function withRequestOverrides(
  settings: ReliabilitySettings,
  body: Record<string, unknown>,
): ReliabilitySettings {
  const numRetries = count(body.num_retries)
  const out = { ...settings }
  // Bounded: each retry is a real upstream call made while the caller's parallel slot is held.
  if (numRetries !== undefined)
    out.numRetries = Math.min(numRetries, Math.max(settings.numRetries, MAX_REQUEST_RETRIES))
  if (isFallbackList(body.fallbacks)) out.fallbacks = body.fallbacks
  if (isFallbackList(body.context_window_fallbacks))
    out.contextWindowFallbacks = body.context_window_fallbacks
  if (isFallbackList(body.content_policy_fallbacks))
    out.contentPolicyFallbacks = body.content_policy_fallbacks
  return out
}

/** `[{group: [groups]}]` as opposed to a client-side `["group", …]` / `[{model, messages}]` list. */
export function isFallbackList(value: unknown): value is FallbackList {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        !('model' in item) &&
        Object.values(item).every((v) => Array.isArray(v) && v.every((g) => typeof g === 'string')),
    )
  )
}

/**
 * The fallback groups for `group` (LiteLLM's `get_fallback_model_group`): its own entry, else the
 * `"*"` catch-all; undefined when neither exists.
 */
export function fallbackGroupsFor(fallbacks: FallbackList, group: string): string[] | undefined {
  let generic: string[] | undefined
  for (const item of fallbacks) {
    const own = item[group]
    if (own) return own
    if (item['*'] && generic === undefined) generic = item['*']
  }
  return generic
}
