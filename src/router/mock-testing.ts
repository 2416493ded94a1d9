import { GatewayError } from '../errors'
import { pythonRepr } from './python-repr'
import type { ReliabilitySettings } from './reliability-settings'

/** LiteLLM's request flags that provoke router failures, for fallback and alerting drills. */
export interface MockTestingFlags {
  fallbacks: boolean
  contextFallbacks: boolean
  contentPolicyFallbacks: boolean
  rateLimitError: boolean
}

export function mockTestingFlags(body: Record<string, unknown>): MockTestingFlags {
  return {
    fallbacks: body.mock_testing_fallbacks === true,
    // LiteLLM's docs also spell it mock_testing_context_window_fallbacks.
    contextFallbacks:
      body.mock_testing_context_fallbacks === true || body.mock_testing_context_window_fallbacks === true,
    contentPolicyFallbacks: body.mock_testing_content_policy_fallbacks === true,
    rateLimitError: body.mock_testing_rate_limit_error === true,
  }
}

const mockFailure = (status: number, message: string): GatewayError =>
  // Upstream-like (rendered as LiteLLM renders provider errors), raised before any deployment is
  // picked, so a drill never cools down or counts against a real deployment.
  new GatewayError({ status, message, origin: 'upstream', retryable: false, affectsDeployment: false })

/**
 * The failures LiteLLM's `async_function_with_fallbacks` raises for the original model group only
 * (it pops these flags, so the fallback groups answer normally).
 */
export function mockFallbackFailure(
  flags: MockTestingFlags,
  group: string,
  settings: ReliabilitySettings,
): GatewayError | undefined {
  if (flags.fallbacks) {
    return mockFailure(
      500,
      `litellm.InternalServerError: This is a mock exception for model=${group}, to trigger a fallback. Fallbacks=${pythonRepr(settings.fallbacks)}`,
    )
  }
  if (flags.contextFallbacks) {
    return mockFailure(
      400,
      `litellm.ContextWindowExceededError: This is a mock exception for model=${group}, to trigger a fallback. Context_Window_Fallbacks=${pythonRepr(settings.contextWindowFallbacks)}`,
    )
  }
  if (flags.contentPolicyFallbacks) {
    return mockFailure(
      400,
      `litellm.ContentPolicyViolationError: This is a mock exception for model=${group}, to trigger a fallback. Context_Window_Fallbacks=${pythonRepr(settings.contentPolicyFallbacks)}`,
    )
  }
  return undefined
}

/**
 * `mock_testing_rate_limit_error`: LiteLLM raises it in every group's retry loop, before any
 * attempt and without retrying, so the fallback groups fail the same way (see the seed README).
 */
export function mockRateLimitFailure(flags: MockTestingFlags, group: string): GatewayError | undefined {
  if (!flags.rateLimitError) return undefined
  return mockFailure(
    429,
    `litellm.RateLimitError: This is a mock exception for model=${group}, to trigger a rate limit error.`,
  )
}
