import { GatewayError } from '../../errors'
import { CLASS_BY_STATUS } from '../../router/error-class'

/**
 * Bedrock (restJson1) errors → GatewayError, worded like LiteLLM's
 * `litellm.<ExceptionClass>: BedrockException - <AWS message>` so clients matching on it keep working.
 */

/** HTTP status per AWS error code. Codes without an OpenAI counterpart are folded into one. */
const STATUS_BY_CODE: Record<string, number> = {
  ValidationException: 400,
  // AWS models this as 400 (no retry); it is a quota problem, not a transient throttle.
  ServiceQuotaExceededException: 400,
  IncompleteSignatureException: 401,
  InvalidSignatureException: 401,
  MissingAuthenticationTokenException: 401,
  UnrecognizedClientException: 401,
  ExpiredTokenException: 401,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ThrottlingException: 429,
  InternalServerException: 500,
  // AWS uses 424 (Failed Dependency) for a failing model; OpenAI clients know no 424, so it is a 500.
  ModelErrorException: 500,
  ModelStreamErrorException: 500,
  // AWS answers 429 but it is not a rate limit: an imported/custom model is still loading.
  ModelNotReadyException: 503,
  ServiceUnavailableException: 503,
}

/**
 * LiteLLM's exception class per status for a provider's own error: the router's table, except that
 * a 502 the provider words itself is LiteLLM's `BadGatewayError` (the router's 502 is a connection error).
 */
const PROVIDER_CLASS_BY_STATUS: Readonly<Record<number, string>> = {
  ...CLASS_BY_STATUS,
  502: 'BadGatewayError',
}

/** Whether a status has a LiteLLM class of its own (else it is an `APIError`). */
export const hasErrorClass = (status: number): boolean => status in PROVIDER_CLASS_BY_STATUS

/**
 * `litellm.<Class>: <Exception> - <message>` for an AWS provider (`BedrockException`,
 * `SagemakerException`); a 400 whose message matches `contextWindow` is a ContextWindowExceededError,
 * which routes to `context_window_fallbacks`.
 */
export function awsProviderError(
  exception: string,
  contextWindow: RegExp,
  status: number,
  message: string,
  retryAfter?: number,
): GatewayError {
  const className =
    status === 400 && contextWindow.test(message)
      ? 'ContextWindowExceededError'
      : (PROVIDER_CLASS_BY_STATUS[status] ?? 'APIError')
  return new GatewayError({
    status,
    message: `litellm.${className}: ${exception} - ${message}`,
    origin: 'upstream',
    retryAfter,
  })
}

const CONTEXT_WINDOW = /too long|context window|maximum context length/i

/** `ThrottlingException:http://internal.amazon.com/...` or `com.amazon.coral.service#ExpiredTokenException`. */
export function errorCodeFrom(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined
  const beforeColon = raw.split(':')[0] ?? ''
  const code = beforeColon.includes('#') ? beforeColon.slice(beforeColon.lastIndexOf('#') + 1) : beforeColon
  return code.trim() || undefined
}

interface ErrorBody {
  code?: string
  type?: string
  message?: string
}

function parseBody(bodyText: string): ErrorBody {
  try {
    const json: unknown = JSON.parse(bodyText)
    if (typeof json !== 'object' || json === null) return {}
    const record = json as Record<string, unknown>
    const str = (key: string): string | undefined =>
      typeof record[key] === 'string' ? record[key] : undefined
    return { code: str('code'), type: str('__type'), message: str('message') ?? str('Message') }
  } catch {
    return {}
  }
}

/**
 * Keeps AWS's explanation but drops what must not reach a client: a signature mismatch appends the
 * canonical request (with the session token header) and string-to-sign after a blank line, and
 * access key ids are credentials' names.
 */
export function redactAwsMessage(message: string): string {
  const firstParagraph = message.split(/\r?\n\s*\r?\n/)[0] ?? ''
  return firstParagraph.replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '$1****').trim()
}

/** `Retry-After` in seconds, as AWS services send it; undefined if absent or odd. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  const seconds = Number(value)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
}

const build = (status: number, awsMessage: string, retryAfter?: number): GatewayError =>
  awsProviderError('BedrockException', CONTEXT_WINDOW, status, awsMessage, retryAfter)

/** Maps a non-2xx Bedrock Runtime HTTP response. Code order is the AWS SDK's: header, body `code`, `__type`. */
export function bedrockError(status: number, headers: Headers, bodyText: string): GatewayError {
  const body = parseBody(bodyText)
  const code =
    errorCodeFrom(headers.get('x-amzn-errortype')) ?? errorCodeFrom(body.code) ?? errorCodeFrom(body.type)
  const mapped = code === undefined ? undefined : STATUS_BY_CODE[code]
  const finalStatus = mapped ?? (status >= 400 && status <= 599 ? status : 502)
  const text = body.message ?? (bodyText.trim().slice(0, 500) || `HTTP ${status}`)
  const awsMessage = redactAwsMessage(code !== undefined && mapped === undefined ? `${code}: ${text}` : text)
  return build(finalStatus, awsMessage, parseRetryAfter(headers.get('retry-after')))
}

/**
 * Maps an `exception` frame inside a ConverseStream (HTTP status already 200). `:exception-type` is
 * the union member name in camelCase (`throttlingException`), the same codes as the HTTP errors.
 */
export function bedrockStreamException(exceptionType: string, payloadText: string): GatewayError {
  const code = exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1)
  const text = parseBody(payloadText).message ?? (payloadText.trim().slice(0, 500) || exceptionType)
  return build(STATUS_BY_CODE[code] ?? 502, redactAwsMessage(text))
}

/** Maps an unmodeled `error` frame (`:error-code`, `:error-message`) inside a stream. */
export function bedrockStreamError(
  errorCode: string | undefined,
  errorMessage: string | undefined,
): GatewayError {
  const text = [errorCode, errorMessage].filter(Boolean).join(': ') || 'unknown error in the event stream'
  return build(502, redactAwsMessage(text))
}

/**
 * True for Bedrock's "input too long" family of validation errors, which a context-window fallback
 * (LiteLLM's `context_window_fallbacks`) retries on a bigger model. `code` stays the status string.
 */
export function isContextWindowError(error: unknown): boolean {
  return error instanceof GatewayError && error.status === 400 && CONTEXT_WINDOW.test(error.message)
}
