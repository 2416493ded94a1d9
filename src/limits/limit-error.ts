import { GatewayError } from '../errors'
import type { LimitedEntity } from './limit-entities'
import type { LimitType } from './limit-scripts'

/** LiteLLM's (v3 limiter) 429: `Rate limit exceeded for <descriptor>: <id>. Limit type: …`. */
export function rateLimitError(
  entity: LimitedEntity,
  type: LimitType,
  limit: number,
  remaining: number,
  retryAfterSeconds: number,
): GatewayError {
  return new GatewayError({
    status: 429,
    message:
      `Rate limit exceeded for ${entity.descriptor}: ${entity.id}. Limit type: ${type}. ` +
      `Current limit: ${limit}, Remaining: ${remaining}.`,
    retryAfter: Math.max(1, retryAfterSeconds),
    origin: 'client',
  })
}

/** `general_settings.rate_limit_fail_closed`: the counters are down and limits cannot be checked. */
export function limitsUnavailableError(cause: unknown): GatewayError {
  return new GatewayError({
    status: 503,
    message: 'Rate limits cannot be checked right now (shared counters unreachable); try again later.',
    retryAfter: 1,
    cause,
  })
}
