import type { GatewayError } from '../../errors'
import {
  awsProviderError,
  errorCodeFrom,
  hasErrorClass,
  parseRetryAfter,
  redactAwsMessage,
} from '../bedrock/errors'

/**
 * SageMaker Runtime errors (protocols.md 3.3) → GatewayError, worded like LiteLLM's
 * `litellm.<ExceptionClass>: SagemakerException - <message>` so clients matching on it keep working.
 */

const STATUS_BY_CODE: Record<string, number> = {
  ValidationError: 400,
  ValidationException: 400,
  IncompleteSignatureException: 401,
  InvalidSignatureException: 401,
  MissingAuthenticationTokenException: 401,
  UnrecognizedClientException: 401,
  InvalidClientTokenId: 401,
  ExpiredTokenException: 401,
  AccessDeniedException: 403,
  ThrottlingException: 429,
  InternalFailure: 500,
  // AWS answers 429, but it is not a rate limit: the model behind the endpoint is still loading.
  ModelNotReadyException: 503,
  ServiceUnavailable: 503,
  ServiceUnavailableException: 503,
  // 530: a dependency of SageMaker failed; another attempt (or deployment) may work.
  InternalDependencyException: 502,
}

/** TGI's "inputs tokens + max_new_tokens must be <= N", vLLM's "maximum context length", … */
const CONTEXT_WINDOW = /must be <=|too long|context window|maximum context length|context length/i
const ENDPOINT_NOT_FOUND =
  /\b(endpoint|inference component)\b.*\bnot found\b|could not find (endpoint|inference component)/i

interface ErrorBody {
  code?: string
  type?: string
  message?: string
  originalStatusCode?: number
  originalMessage?: string
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function parseBody(bodyText: string): ErrorBody {
  const json = parseJson(bodyText)
  if (!isRecord(json)) return {}
  const str = (key: string): string | undefined => (typeof json[key] === 'string' ? json[key] : undefined)
  const status = json.OriginalStatusCode
  return {
    code: str('code'),
    type: str('__type'),
    message: str('Message') ?? str('message'),
    originalStatusCode: typeof status === 'number' ? status : undefined,
    originalMessage: str('OriginalMessage'),
  }
}

/**
 * The container's own words inside a ModelError: TGI answers `{"error": "…", "error_type": …}`,
 * OpenAI-style servers (vLLM, LMI) `{"error": {"message": …}}` or `{"message": …}`.
 */
export function containerMessage(original: string): string {
  const json = parseJson(original)
  if (isRecord(json)) {
    if (typeof json.error === 'string') return json.error
    if (isRecord(json.error) && typeof json.error.message === 'string') return json.error.message
    if (typeof json.message === 'string') return json.message
  }
  return original.trim()
}

/** A failing container's status (ModelError's OriginalStatusCode) as the status the client sees. */
function statusForContainer(status: number | undefined): number {
  if (status === undefined) return 500
  if (status === 400 || status === 413 || status === 422) return 400
  if (status === 408 || status === 429) return status
  // The container's 401/403/404 are about its own setup, not the caller's key: a server error.
  return 500
}

/** LiteLLM's hint for the two inference-component misconfigurations. */
function withInferenceComponentHint(message: string): string {
  if (/Inference Component Name header is required/i.test(message)) {
    return `${message} Set litellm_params.model_id to the inference component name.`
  }
  if (/Inference Component Name header is not allowed/i.test(message)) {
    return `${message} Remove litellm_params.model_id: the endpoint has no inference components.`
  }
  return message
}

const build = (status: number, message: string, retryAfter?: number): GatewayError =>
  awsProviderError('SagemakerException', CONTEXT_WINDOW, status, message, retryAfter)

/** Maps a non-2xx InvokeEndpoint(WithResponseStream) response. Code order: header, body `code`, `__type`. */
export function sagemakerError(status: number, headers: Headers, bodyText: string): GatewayError {
  const body = parseBody(bodyText)
  const code =
    errorCodeFrom(headers.get('x-amzn-errortype')) ?? errorCodeFrom(body.code) ?? errorCodeFrom(body.type)
  const retryAfter = parseRetryAfter(headers.get('retry-after'))
  if (code === 'ModelError' || (code === undefined && status === 424)) {
    const text =
      body.originalMessage !== undefined && body.originalMessage.trim() !== ''
        ? containerMessage(body.originalMessage)
        : (body.message ?? 'the model container returned an error')
    return build(statusForContainer(body.originalStatusCode), redactAwsMessage(text), retryAfter)
  }
  const text = withInferenceComponentHint(body.message ?? (bodyText.trim().slice(0, 500) || `HTTP ${status}`))
  const mapped = code === undefined ? undefined : STATUS_BY_CODE[code]
  let finalStatus = mapped ?? (status >= 400 && status <= 599 && status !== 424 ? status : 502)
  // SageMaker reports an unknown endpoint as a ValidationError (400); it is a missing resource.
  if (finalStatus === 400 && ENDPOINT_NOT_FOUND.test(text)) finalStatus = 404
  if (!hasErrorClass(finalStatus) && finalStatus >= 500) finalStatus = 502
  const awsMessage = redactAwsMessage(code !== undefined && mapped === undefined ? `${code}: ${text}` : text)
  return build(finalStatus, awsMessage, retryAfter)
}

/**
 * Maps an exception frame of InvokeEndpointWithResponseStream (the HTTP status was already 200):
 * `ModelStreamError` (`{"Message", "ErrorCode": "ModelInvocationTimeExceeded" | "StreamBroken"}`)
 * and `InternalStreamFailure` (`{"Message"}`).
 */
export function sagemakerStreamException(exceptionType: string, payloadText: string): GatewayError {
  const json = parseJson(payloadText)
  const record = isRecord(json) ? json : {}
  const message =
    (typeof record.Message === 'string' ? record.Message : undefined) ??
    (typeof record.message === 'string' ? record.message : undefined) ??
    (payloadText.trim().slice(0, 500) || exceptionType)
  const errorCode = typeof record.ErrorCode === 'string' ? record.ErrorCode : undefined
  const status =
    errorCode === 'ModelInvocationTimeExceeded' ? 408 : exceptionType === 'ModelStreamError' ? 500 : 502
  const text =
    errorCode === undefined ? `${exceptionType}: ${message}` : `${exceptionType} (${errorCode}): ${message}`
  return build(status, redactAwsMessage(text))
}

/** Maps an unmodeled `error` frame (`:error-code`, `:error-message`) inside a stream. */
export function sagemakerStreamError(
  errorCode: string | undefined,
  errorMessage: string | undefined,
): GatewayError {
  const text = [errorCode, errorMessage].filter(Boolean).join(': ') || 'unknown error in the event stream'
  return build(502, redactAwsMessage(text))
}

/** A reply the gateway cannot read (bad JSON, a wrong shape): the upstream's fault. */
export function sagemakerBadReply(detail: string): GatewayError {
  return build(502, detail)
}

const STATUS_BY_TGI_ERROR_TYPE: Record<string, number> = {
  validation: 400,
  template_error: 400,
  overloaded: 503,
  generation: 500,
  incomplete_generation: 502,
}

/**
 * An error the container writes into its own stream (HTTP and event stream already 200): TGI's
 * `{"error": "…", "error_type": "validation" | "overloaded" | "generation" | …}` or an OpenAI-style
 * `{"error": {"message", "type"}}`. Undefined when the value is not an error.
 */
export function containerStreamError(value: unknown): GatewayError | undefined {
  if (!isRecord(value) || value.error === undefined || value.error === null) return undefined
  if (typeof value.error === 'string') {
    const type = typeof value.error_type === 'string' ? value.error_type : ''
    return build(STATUS_BY_TGI_ERROR_TYPE[type] ?? 500, redactAwsMessage(value.error))
  }
  if (isRecord(value.error)) {
    const message =
      typeof value.error.message === 'string' ? value.error.message : 'the container reported an error'
    const type = typeof value.error.type === 'string' ? value.error.type : ''
    const status = /invalid_request|BadRequest|validation/i.test(type) ? 400 : 500
    return build(status, redactAwsMessage(message))
  }
  return undefined
}
