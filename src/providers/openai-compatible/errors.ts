import { GatewayError } from '../../errors'

/**
 * OpenAI-compatible upstream errors → GatewayError, worded as LiteLLM's `_map_openai_exception`
 * words them (`litellm.RateLimitError: RateLimitError: OpenAIException - <upstream message>`) and
 * keeping the upstream status, so clients and the router see what the upstream said.
 */

/** Who answered and which secret must not appear in what it said. */
export interface ErrorContext {
  exceptionName: string
  apiKey: string | undefined
}

interface Wording {
  /** LiteLLM's exception class (`litellm.<Class>: …`). */
  className: string
  /** What LiteLLM puts between the class and the provider name (`RateLimitError: `, often nothing). */
  infix: string
}

/** `_map_openai_exception`'s branches by status, after the message-based ones. */
const WORDING_BY_STATUS: Record<number, Wording> = {
  400: { className: 'BadRequestError', infix: '' },
  401: { className: 'AuthenticationError', infix: 'AuthenticationError: ' },
  404: { className: 'NotFoundError', infix: 'NotFoundError: ' },
  408: { className: 'Timeout', infix: 'Timeout Error: ' },
  422: { className: 'BadRequestError', infix: '' },
  429: { className: 'RateLimitError', infix: 'RateLimitError: ' },
  500: { className: 'InternalServerError', infix: 'InternalServerError: ' },
  502: { className: 'BadGatewayError', infix: 'BadGatewayError: ' },
  503: { className: 'ServiceUnavailableError', infix: 'ServiceUnavailableError: ' },
  504: { className: 'Timeout', infix: 'Timeout Error: ' },
}

/** LiteLLM's `is_error_str_context_window_exceeded` phrases (OpenAI, vLLM, TGI wordings). */
const CONTEXT_WINDOW =
  /context length|context_length_exceeded|maximum context|context window|prompt is too long|input is too long|too many tokens/i
const CONTENT_POLICY =
  /content_policy_violation|violating our usage policy|rejected as a result of the safety system/i

interface ParsedError {
  message: string | undefined
  type: string | undefined
  code: string | undefined
}

/** OpenAI's `{"error":{"message","type","param","code"}}`; also `{"message": …}` and `{"detail": …}` (FastAPI). */
export function parseErrorBody(text: string): ParsedError {
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json !== 'object' || json === null)
      return { message: undefined, type: undefined, code: undefined }
    const record = json as Record<string, unknown>
    const inner =
      typeof record.error === 'object' && record.error !== null
        ? (record.error as Record<string, unknown>)
        : record
    const str = (value: unknown): string | undefined =>
      typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined
    const message =
      str(inner.message) ??
      (typeof record.error === 'string' ? record.error : undefined) ??
      str(record.detail)
    return { message, type: str(inner.type), code: str(inner.code) }
  } catch {
    return { message: undefined, type: undefined, code: undefined }
  }
}

/** Replaces the deployment's key wherever an upstream echoes it back (some servers quote the header). */
export function redactKey(text: string, apiKey: string | undefined): string {
  if (apiKey === undefined || apiKey.length < 4) return text
  return text.split(apiKey).join('****')
}

/** `retry-after-ms`, then `retry-after` in seconds or as an HTTP date; seconds, undefined if absent or odd. */
export function retryAfterSeconds(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN)
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000
  const value = headers.get('retry-after')
  if (value === null || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000)
}

function wordingFor(status: number, text: string, parsed: ParsedError): Wording {
  const haystack = `${text} ${parsed.type ?? ''} ${parsed.code ?? ''}`
  if (status === 429) return WORDING_BY_STATUS[429] as Wording
  if (status === 400 && CONTEXT_WINDOW.test(haystack))
    return { className: 'ContextWindowExceededError', infix: 'ContextWindowExceededError: ' }
  if (status === 400 && CONTENT_POLICY.test(haystack))
    return { className: 'ContentPolicyViolationError', infix: 'ContentPolicyViolationError: ' }
  return WORDING_BY_STATUS[status] ?? { className: 'APIError', infix: 'APIError: ' }
}

/** Maps a non-2xx upstream response. A status outside 4xx/5xx (a 1xx/2xx with no body …) becomes 502. */
export function upstreamHttpError(
  status: number,
  headers: Headers,
  bodyText: string,
  context: ErrorContext,
): GatewayError {
  const parsed = parseErrorBody(bodyText)
  const raw = parsed.message ?? (bodyText.trim().slice(0, 500) || `HTTP ${status}`)
  const message = redactKey(raw, context.apiKey)
  const finalStatus = status >= 400 && status <= 599 ? status : 502
  const { className, infix } = wordingFor(finalStatus, message, parsed)
  return new GatewayError({
    status: finalStatus,
    message: `litellm.${className}: ${infix}${context.exceptionName} - ${message}`,
    origin: 'upstream',
    retryAfter: retryAfterSeconds(headers),
  })
}

/**
 * An `{"error": …}` object sent inside a stream (vLLM and LiteLLM proxies do this after the 200).
 * Its `code` is the status when it looks like one; otherwise the stream failed upstream: 500.
 */
export function upstreamStreamError(error: unknown, context: ErrorContext): GatewayError {
  const parsed = parseErrorBody(JSON.stringify({ error }))
  const code = Number(parsed.code)
  const status = Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500
  return upstreamHttpError(status, new Headers(), JSON.stringify({ error }), context)
}

/** A malformed answer (not JSON, no choices, a stream cut short …): the upstream's fault, 502. */
export function badUpstreamAnswer(problem: string, context: ErrorContext): GatewayError {
  return new GatewayError({
    status: 502,
    message: `litellm.BadGatewayError: BadGatewayError: ${context.exceptionName} - ${problem}`,
    origin: 'upstream',
    retryable: true,
  })
}
