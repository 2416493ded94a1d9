import { GatewayError } from '../../errors'

/**
 * LiteLLM raises a mapped exception when `mock_response` names one of its exception classes,
 * so load tests and fallback drills can provoke any error without a provider.
 */
const MOCK_ERRORS: Record<string, { status: number; className: string }> = {
  'litellm.RateLimitError': { status: 429, className: 'RateLimitError' },
  'litellm.InternalServerError': { status: 500, className: 'InternalServerError' },
  'litellm.ContextWindowExceededError': { status: 400, className: 'ContextWindowExceededError' },
  'litellm.ContentPolicyViolationError': { status: 400, className: 'ContentPolicyViolationError' },
  'litellm.BadRequestError': { status: 400, className: 'BadRequestError' },
  'litellm.AuthenticationError': { status: 401, className: 'AuthenticationError' },
  'litellm.PermissionDeniedError': { status: 403, className: 'PermissionDeniedError' },
  'litellm.NotFoundError': { status: 404, className: 'NotFoundError' },
  'litellm.Timeout': { status: 408, className: 'Timeout' },
  'litellm.ServiceUnavailableError': { status: 503, className: 'ServiceUnavailableError' },
}

export function mockError(mockResponse: string, model: string): GatewayError | undefined {
  const known = MOCK_ERRORS[mockResponse]
  if (!known) return undefined
  return new GatewayError({
    status: known.status,
    message: `litellm.${known.className}: This is a mock exception for model=${model}.`,
    origin: 'upstream',
    // A drill: retried and fallen back like the real error, but never held against the deployment.
    affectsDeployment: false,
  })
}
