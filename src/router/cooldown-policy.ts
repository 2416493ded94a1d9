import type { GatewayError } from '../errors'
import type { Deployment } from '../providers/types'
import { litellmErrorClass } from './error-class'
import type { AllowedFailsPolicy, RoutingSettings } from './routing-settings'

/**
 * What a failed attempt does to its deployment's cooldown:
 * - `none`: nothing (a client error, or cooldowns cannot apply);
 * - `now`: cool down at once for `seconds`;
 * - `count`: count one failure this minute; cool down for `seconds` once more than `allowedFails`.
 */
export type CooldownAction =
  | { kind: 'none' }
  | { kind: 'now'; seconds: number }
  | { kind: 'count'; allowedFails: number; seconds: number }

/** LiteLLM's `_is_cooldown_required`: these 4xx say the deployment (not the request) is the problem. */
const COOL_AT_ONCE = new Set([401, 404, 408, 429])

const number = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined

const positive = (value: unknown): number | undefined => {
  const n = number(value)
  return n !== undefined && n > 0 ? n : undefined
}

/** `allowed_fails_policy` key for an error (LiteLLM's `get_allowed_fails_from_policy`). */
function policyKey(error: GatewayError | undefined): keyof AllowedFailsPolicy | undefined {
  if (!error || error.status >= 500) return 'InternalServerErrorAllowedFails'
  const cls = litellmErrorClass(error)
  if (cls === 'ContentPolicyViolationError') return 'ContentPolicyViolationErrorAllowedFails'
  switch (error.status) {
    case 400:
      return 'BadRequestErrorAllowedFails'
    case 401:
      return 'AuthenticationErrorAllowedFails'
    case 408:
      return 'TimeoutErrorAllowedFails'
    case 429:
      return 'RateLimitErrorAllowedFails'
    default:
      return undefined
  }
}

/**
 * LiteLLM's cooldown rules (router_utils/cooldown_handlers.py):
 * - never with `disable_cooldowns`, and never for a group's only deployment (cooling it down would
 *   only turn its errors into "No deployments available");
 * - other 4xx (bad request, context window, content policy …) never: the request is at fault;
 * - with an `allowed_fails_policy` entry for the error's class: count against that;
 * - 429 at once, for the upstream's Retry-After when it sent one, else `cooldown_time`;
 * - 401, 404, 408 at once for `cooldown_time`;
 * - 5xx and network errors count against `allowed_fails` per minute.
 * A deployment's own `cooldown_time` / `allowed_fails` (litellm_params or model_info) win.
 */
export function cooldownAction(
  deployment: Deployment,
  error: GatewayError | undefined,
  settings: RoutingSettings,
  groupSize: number,
): CooldownAction {
  if (settings.disableCooldowns || groupSize <= 1) return { kind: 'none' }
  const status = error?.status ?? 500
  if (status >= 400 && status < 500 && !COOL_AT_ONCE.has(status)) return { kind: 'none' }
  const seconds =
    positive(deployment.params.cooldown_time) ??
    positive(deployment.modelInfo.cooldown_time) ??
    settings.cooldownSeconds
  const key = policyKey(error)
  const fromPolicy = key === undefined ? undefined : settings.allowedFailsPolicy[key]
  if (fromPolicy !== undefined) return { kind: 'count', allowedFails: fromPolicy, seconds }
  if (status === 429) {
    const retryAfter = error?.retryAfter
    return { kind: 'now', seconds: retryAfter !== undefined && retryAfter > 0 ? retryAfter : seconds }
  }
  if (COOL_AT_ONCE.has(status)) return { kind: 'now', seconds }
  const allowedFails =
    number(deployment.params.allowed_fails) ??
    number(deployment.modelInfo.allowed_fails) ??
    settings.allowedFails
  return { kind: 'count', allowedFails, seconds }
}
