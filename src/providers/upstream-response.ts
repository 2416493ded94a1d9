import { GatewayError } from '../errors'

/**
 * What every provider does with one upstream POST (Bedrock, SageMaker, OpenAI-compatible): a
 * network failure, a redirect and a non-2xx answer each become a GatewayError, worded by the
 * provider. The logic is shared; the words stay each provider's, because clients match on them.
 */

/** Most of an error body worth reading: AWS and OpenAI errors are a few hundred bytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024

/** `redirect: 'manual'` gives a 3xx on servers/Node and an opaque (status 0) response in browsers. */
export const isRedirect = (response: Response): boolean =>
  response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)

/**
 * Why a connection failed, without its message: runtimes put URLs, headers or whatever a proxy said
 * into network error messages, and those reach the client. Only an errno-style code
 * (`ECONNREFUSED`, from Node's `cause`) or the error's class name is kept.
 */
export function networkReason(error: unknown): string {
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined
  }
  const name =
    error instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : undefined
  return codeOf(error instanceof Error ? error.cause : undefined) ?? codeOf(error) ?? name ?? 'network error'
}

/**
 * The start of an error body, at most `maxBytes`, then the rest is cancelled: a misbehaving upstream
 * (or a proxy in front of it) answering an error with an endless or huge body must not make the
 * gateway buffer it. A read that fails part-way keeps what arrived; the message is built from it.
 */
export async function errorBodyText(response: Response, maxBytes = MAX_ERROR_BODY_BYTES): Promise<string> {
  const body = response.body
  if (body === null) return ''
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  let done = false
  try {
    while (size < maxBytes) {
      const result = await reader.read()
      if (result.done) {
        done = true
        break
      }
      const piece = result.value.subarray(0, maxBytes - size)
      size += piece.byteLength
      text += decoder.decode(piece, { stream: true })
    }
  } catch {
    // Cut mid-body: what arrived is still the best explanation there is.
  } finally {
    if (!done) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
  return text + decoder.decode()
}

/** The provider's words for each way a POST can fail. */
export interface UpstreamFailures {
  /** The request never got an answer (DNS, refused, reset); `reason` is from `networkReason`. */
  unreachable(reason: string, cause: unknown): GatewayError
  /** A 3xx, which is never followed; `status` is 0 for an opaque redirect. */
  redirected(status: number): GatewayError
  /** A non-2xx answer, with at most MAX_ERROR_BODY_BYTES of its body. */
  failed(status: number, headers: Headers, bodyText: string): GatewayError
}

/**
 * Sends one request and returns the 2xx response; anything else throws the provider's GatewayError.
 * An abort (client gone, timeout) is the caller's decision and passes through untouched.
 */
export async function sendUpstream(
  send: () => Promise<Response>,
  signal: AbortSignal,
  failures: UpstreamFailures,
): Promise<Response> {
  let response: Response
  try {
    response = await send()
  } catch (error) {
    if (signal.aborted) throw error
    throw failures.unreachable(networkReason(error), error)
  }
  if (isRedirect(response)) {
    await response.body?.cancel().catch(() => undefined)
    throw failures.redirected(response.status)
  }
  if (!response.ok) throw failures.failed(response.status, response.headers, await errorBodyText(response))
  return response
}

/** How a provider names itself in LiteLLM's wording, and what to check when it is redirected. */
export interface UpstreamWords {
  /** What follows `litellm.<Class>: ` (`BedrockException`, or `<Class>: OpenAIException`). */
  who: (className: string) => string
  /** The host only: the URL's path or query may carry a token, and runtimes' messages quote URLs. */
  host: string
  /** The sentence after "answered with a redirect (HTTP 3xx); ". */
  redirectAdvice: string
}

/**
 * The connection and redirect failures every provider words alike: a retryable 502
 * `APIConnectionError` naming the host and why, and a retryable 502 `BadGatewayError` for a
 * redirect (never followed: it would carry the credentials to another host).
 */
export function connectionFailures(words: UpstreamWords): Omit<UpstreamFailures, 'failed'> {
  return {
    unreachable: (reason, cause) =>
      new GatewayError({
        status: 502,
        message: `litellm.APIConnectionError: ${words.who('APIConnectionError')} - could not reach ${words.host} (${reason}).`,
        origin: 'upstream',
        retryable: true,
        cause,
      }),
    redirected: (status) =>
      new GatewayError({
        status: 502,
        message: `litellm.BadGatewayError: ${words.who('BadGatewayError')} - ${words.host} answered with a redirect${
          status > 0 ? ` (HTTP ${status})` : ''
        }; ${words.redirectAdvice}`,
        origin: 'upstream',
        retryable: true,
      }),
  }
}
