import { GatewayError } from '../errors'
import type { Deployment } from '../providers/types'
import { contextWindowOf, limitsOf } from './capacity-checks'
import { pythonRepr } from './python-repr'
import type { DeploymentStats } from './strategies'

/**
 * Why routing found no deployment, for the retry/fallback loop:
 * - `cooldown`: every deployment is cooling down (429; retryAfter = the shortest cooldown left);
 * - `usage_limit`: none is within its rpm/tpm this minute (429; retryAfter = seconds to the next minute);
 * - `context_window`: the prompt fits no deployment's context window (400; its message starts
 *   `litellm.ContextWindowExceededError:`, so `context_window_fallbacks` apply).
 */
export type RoutingErrorKind = 'cooldown' | 'usage_limit' | 'context_window'

export class RoutingError extends GatewayError {
  readonly kind: RoutingErrorKind
  constructor(kind: RoutingErrorKind, init: ConstructorParameters<typeof GatewayError>[0]) {
    super(init)
    this.kind = kind
  }
}

/** LiteLLM's RouterRateLimitError, word for word (Python's True/False and list repr included). */
export function noDeploymentsError(opts: {
  group: string
  retryAfterSeconds: number
  preCallChecks: boolean
  cooldownList: readonly string[]
  kind: 'cooldown' | 'usage_limit'
}): RoutingError {
  const seconds = Math.max(1, Math.ceil(opts.retryAfterSeconds))
  return new RoutingError(opts.kind, {
    status: 429,
    message:
      `No deployments available for selected model, Try again in ${seconds} seconds. Passed model=${opts.group}. ` +
      `pre-call-checks=${pythonRepr(opts.preCallChecks)}, cooldown_list=${pythonRepr([...opts.cooldownList])}`,
    retryAfter: seconds,
  })
}

/**
 * usage-based-routing-v2's own 429 when every deployment would exceed its rpm/tpm, listing each
 * one's usage and limits as LiteLLM does (`inf` for no limit).
 */
export function usageLimitError(
  group: string,
  deployments: readonly Deployment[],
  stats: (d: Deployment) => DeploymentStats,
  retryAfterSeconds: number,
): RoutingError {
  const usage: Record<string, Record<string, number>> = {}
  for (const d of deployments) {
    const { rpm, tpm } = limitsOf(d)
    const s = stats(d)
    usage[d.id] = {
      current_tpm: s.tpm,
      tpm_limit: tpm ?? Number.POSITIVE_INFINITY,
      current_rpm: s.rpm,
      rpm_limit: rpm ?? Number.POSITIVE_INFINITY,
    }
  }
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  return new RoutingError('usage_limit', {
    status: 429,
    message: `No deployments available for selected model. Passed model=${group}. Deployments=${pythonRepr(usage)}`,
    retryAfter: seconds,
  })
}

/** LiteLLM's `_pre_call_checks` ContextWindowExceededError (a 400 that context_window_fallbacks catch). */
export function contextWindowError(deployments: readonly Deployment[], promptTokens: number): RoutingError {
  const details = deployments
    .map((d) => `Model=${d.params.model}, Max Input Tokens=${contextWindowOf(d)}, Got=${promptTokens}`)
    .join('\n')
  return new RoutingError('context_window', {
    status: 400,
    message:
      'litellm.ContextWindowExceededError: litellm._pre_call_checks: Context Window exceeded for given call. ' +
      `No models have context window large enough for this call.\n${details}`,
    origin: 'client',
    retryable: false,
  })
}

export const isRoutingError = (error: unknown): error is RoutingError => error instanceof RoutingError
