import type { GatewayError } from '../errors'

/** LiteLLM's exception class for each status, when a message does not name one. */
export const CLASS_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  408: 'Timeout',
  422: 'UnprocessableEntityError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  502: 'APIConnectionError',
  503: 'ServiceUnavailableError',
}

/**
 * The LiteLLM exception class an error stands for. Providers word their errors the LiteLLM way
 * (`litellm.ContextWindowExceededError: BedrockException - …`), so the class is read from that
 * prefix first: a context-window error is a 400 like any bad request, but it routes to
 * `context_window_fallbacks`, and clients match on the class name.
 */
export function litellmErrorClass(error: GatewayError): string {
  const named = /^litellm\.([A-Za-z]+):/.exec(error.message)?.[1]
  return named ?? CLASS_BY_STATUS[error.status] ?? (error.status >= 500 ? 'InternalServerError' : 'APIError')
}

export const isContextWindowExceeded = (error: GatewayError): boolean =>
  litellmErrorClass(error) === 'ContextWindowExceededError'

export const isContentPolicyViolation = (error: GatewayError): boolean =>
  litellmErrorClass(error) === 'ContentPolicyViolationError'
