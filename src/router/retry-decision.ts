import type { GatewayError } from '../errors'
import { isContentPolicyViolation, isContextWindowExceeded, litellmErrorClass } from './error-class'
import type { ReliabilitySettings, RetryPolicyKey } from './reliability-settings'

/** Which `retry_policy` field governs an exception class (LiteLLM checks subclasses first). */
const POLICY_BY_CLASS: Record<string, RetryPolicyKey> = {
  ContentPolicyViolationError: 'ContentPolicyViolationErrorRetries',
  ContextWindowExceededError: 'BadRequestErrorRetries',
  BadRequestError: 'BadRequestErrorRetries',
  UnprocessableEntityError: 'BadRequestErrorRetries',
  AuthenticationError: 'AuthenticationErrorRetries',
  Timeout: 'TimeoutErrorRetries',
  RateLimitError: 'RateLimitErrorRetries',
}

/**
 * How many retries an error allows in its model group (LiteLLM's
 * `should_retry_this_error` + `get_num_retries_from_retry_policy`):
 * - never a NotFoundError, nor an error that has a dedicated fallback list waiting
 *   (context window / content policy), nor an error the client caused before anything was sent;
 * - `retry_policy` for the error's class wins over `num_retries`;
 * - an AuthenticationError is retried only when another deployment could answer (its own keys);
 * - otherwise transient errors (408, 429, 5xx, connection failures) get `num_retries`.
 */
export function retriesAllowed(
  error: GatewayError,
  settings: ReliabilitySettings,
  anotherDeployment: boolean,
): number {
  const errorClass = litellmErrorClass(error)
  if (errorClass === 'NotFoundError') return 0
  if (isContextWindowExceeded(error) && settings.contextWindowFallbacks) return 0
  if (isContentPolicyViolation(error) && settings.contentPolicyFallbacks) return 0
  if (error.origin === 'client') return 0
  const policyKey =
    POLICY_BY_CLASS[errorClass] ?? (error.status >= 500 ? 'InternalServerErrorRetries' : undefined)
  const fromPolicy = policyKey === undefined ? undefined : settings.retryPolicy[policyKey]
  if (fromPolicy !== undefined) return fromPolicy
  if (error.status === 401) return anotherDeployment ? settings.numRetries : 0
  return error.retryable ? settings.numRetries : 0
}

/** LiteLLM's exponential backoff: 0.5 s doubling to at most 8 s, with up to 25 % jitter off. */
const INITIAL_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 8_000

/**
 * Milliseconds to wait before retry number `retry` (1-based). Another healthy deployment is tried
 * at once (the failure was that deployment's); the same one waits for the upstream's Retry-After
 * or an exponential backoff, never less than `retry_after`.
 */
export function retryDelayMs(
  error: GatewayError,
  retry: number,
  settings: ReliabilitySettings,
  anotherDeployment: boolean,
  random: () => number,
): number {
  const floor = settings.retryAfterSeconds * 1000
  if (anotherDeployment) return floor
  const backoff = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** (retry - 1)) * (1 - 0.25 * random())
  const upstream = error.retryAfter === undefined ? 0 : error.retryAfter * 1000
  return Math.max(floor, upstream, backoff)
}
