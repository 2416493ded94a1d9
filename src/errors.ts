/**
 * One error type for the whole gateway, rendered in one place.
 *
 * The wire shape is LiteLLM's `ProxyException.to_dict()`, which is OpenAI's error envelope with
 * `code` set to the HTTP status as a string: `{"error":{"message","type","param","code"}}`.
 * The OpenAI SDKs map the HTTP status to a typed exception (RateLimitError, AuthenticationError …),
 * so the status is the contract and `type` is informative.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'service_unavailable_error'
  | 'content_filter_error'
  // LiteLLM's own values, kept so clients that match on them keep working.
  | 'auth_error'
  | 'token_not_found_in_db'
  | 'budget_exceeded'
  | 'key_model_access_denied'

export interface GatewayErrorInit {
  status: number
  message: string
  type?: ErrorType
  param?: string | null
  /** Overrides the default `code` (the status as a string). */
  code?: string
  /** Whether another attempt (same or another deployment) may succeed. */
  retryable?: boolean
  /** Where the error came from: the client request, the gateway itself, or an upstream provider. */
  origin?: 'client' | 'gateway' | 'upstream'
  /** Seconds the caller should wait, sent as `retry-after`. */
  retryAfter?: number
  /**
   * Whether the failure says something about the deployment's health (default true). False for a
   * mock drill or a timeout the caller shortened: those must never cool a deployment down or count
   * against it, or any key could take a shared deployment out of service.
   */
  affectsDeployment?: boolean
  cause?: unknown
}

const DEFAULT_TYPES: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'service_unavailable_error',
}

export class GatewayError extends Error {
  readonly status: number
  readonly type: ErrorType
  readonly param: string | null
  readonly code: string
  readonly retryable: boolean
  readonly origin: 'client' | 'gateway' | 'upstream'
  readonly retryAfter: number | undefined
  readonly affectsDeployment: boolean

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'GatewayError'
    this.status = init.status
    this.type = init.type ?? DEFAULT_TYPES[init.status] ?? 'api_error'
    this.param = init.param ?? null
    this.code = init.code ?? String(init.status)
    this.retryable = init.retryable ?? (init.status === 408 || init.status === 429 || init.status >= 500)
    this.origin = init.origin ?? 'gateway'
    this.retryAfter = init.retryAfter
    this.affectsDeployment = init.affectsDeployment ?? true
  }

  /**
   * Provider errors render with `type: null`, as LiteLLM's proxy does (`ProxyException` takes the
   * provider exception's `type`, which is None): clients that compare bodies with LiteLLM's see the
   * same thing, and the SDKs classify by the status anyway. The gateway's own errors keep theirs.
   */
  toJSON(): ErrorBody {
    const type = this.origin === 'upstream' ? null : this.type
    return { error: { message: this.message, type, param: this.param, code: this.code } }
  }
}

export interface ErrorBody {
  error: { message: string; type: string | null; param: string | null; code: string }
}

export const badRequest = (message: string, param: string | null = null): GatewayError =>
  new GatewayError({ status: 400, message, param, origin: 'client' })

/** Anything thrown that is not a GatewayError is a bug: it becomes a 500 with a generic message. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  return new GatewayError({
    status: 500,
    message: 'Internal error in the gateway. The request id is in the x-litellm-call-id header.',
    type: 'api_error',
    retryable: false,
    cause: error,
  })
}

/** The single renderer of errors as HTTP responses. */
export function errorResponse(error: GatewayError, headers?: HeadersInit): Response {
  const h = new Headers(headers)
  h.set('content-type', 'application/json')
  if (error.retryAfter !== undefined) h.set('retry-after', String(Math.max(0, Math.ceil(error.retryAfter))))
  return new Response(JSON.stringify(error.toJSON()), { status: error.status, headers: h })
}

/** The same error as one SSE event, for failures after a stream has started (status already sent). */
export function errorEvent(error: GatewayError): string {
  return `data: ${JSON.stringify(error.toJSON())}\n\n`
}
