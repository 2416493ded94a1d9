import { describe, expect, it } from 'vitest'
import {
  redactKey,
  retryAfterSeconds,
  upstreamHttpError,
  upstreamStreamError,
} from '../../src/providers/openai-compatible/errors'

const openai = { exceptionName: 'OpenAIException', apiKey: 'sk-live-SECRETKEY1234' }
const vllm = { exceptionName: 'Hosted_vllmException', apiKey: undefined }

const errorJson = (message: string, type = 'invalid_request_error', code: string | null = null) =>
  JSON.stringify({ error: { message, type, param: null, code } })

describe('upstreamHttpError', () => {
  it.each([
    [400, 'litellm.BadRequestError: OpenAIException - bad'],
    [401, 'litellm.AuthenticationError: AuthenticationError: OpenAIException - bad'],
    [403, 'litellm.APIError: APIError: OpenAIException - bad'],
    [404, 'litellm.NotFoundError: NotFoundError: OpenAIException - bad'],
    [408, 'litellm.Timeout: Timeout Error: OpenAIException - bad'],
    [422, 'litellm.BadRequestError: OpenAIException - bad'],
    [429, 'litellm.RateLimitError: RateLimitError: OpenAIException - bad'],
    [500, 'litellm.InternalServerError: InternalServerError: OpenAIException - bad'],
    [502, 'litellm.BadGatewayError: BadGatewayError: OpenAIException - bad'],
    [503, 'litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - bad'],
    [504, 'litellm.Timeout: Timeout Error: OpenAIException - bad'],
    [529, 'litellm.APIError: APIError: OpenAIException - bad'],
  ])('keeps status %i and words it as LiteLLM does', (status, message) => {
    const error = upstreamHttpError(status, new Headers(), errorJson('bad'), openai)
    expect(error.status).toBe(status)
    expect(error.message).toBe(message)
    expect(error.origin).toBe('upstream')
  })

  it('marks 429 and 5xx retryable, 400/401 not', () => {
    expect(upstreamHttpError(429, new Headers(), '', openai).retryable).toBe(true)
    expect(upstreamHttpError(503, new Headers(), '', openai).retryable).toBe(true)
    expect(upstreamHttpError(400, new Headers(), '', openai).retryable).toBe(false)
    expect(upstreamHttpError(401, new Headers(), '', openai).retryable).toBe(false)
  })

  it('honours retry-after (seconds, HTTP date) and retry-after-ms', () => {
    expect(upstreamHttpError(429, new Headers({ 'retry-after': '7' }), '', openai).retryAfter).toBe(7)
    expect(upstreamHttpError(429, new Headers({ 'retry-after-ms': '1500' }), '', openai).retryAfter).toBe(1.5)
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30)
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(upstreamHttpError(429, new Headers(), '', openai).retryAfter).toBeUndefined()
  })

  it('recognises context-window and content-policy 400s', () => {
    const ctx = upstreamHttpError(
      400,
      new Headers(),
      errorJson(
        "This model's maximum context length is 8192 tokens.",
        'invalid_request_error',
        'context_length_exceeded',
      ),
      openai,
    )
    expect(ctx.message).toMatch(
      /^litellm\.ContextWindowExceededError: ContextWindowExceededError: OpenAIException - /,
    )
    expect(ctx.status).toBe(400)
    const policy = upstreamHttpError(
      400,
      new Headers(),
      errorJson('Your request was rejected as a result of the safety system.'),
      openai,
    )
    expect(policy.message).toMatch(/^litellm\.ContentPolicyViolationError: /)
  })

  it('names the provider the LiteLLM way and reads FastAPI and non-JSON bodies', () => {
    expect(upstreamHttpError(400, new Headers(), JSON.stringify({ detail: 'Not Found' }), vllm).message).toBe(
      'litellm.BadRequestError: Hosted_vllmException - Not Found',
    )
    expect(upstreamHttpError(502, new Headers(), '<html>bad gateway</html>', vllm).message).toBe(
      'litellm.BadGatewayError: BadGatewayError: Hosted_vllmException - <html>bad gateway</html>',
    )
    expect(upstreamHttpError(500, new Headers(), '', vllm).message).toContain('HTTP 500')
  })

  it('never repeats the api key an upstream echoes', () => {
    const error = upstreamHttpError(401, new Headers(), errorJson(`bad key ${openai.apiKey} given`), openai)
    expect(error.message).not.toContain(openai.apiKey)
    expect(error.message).toContain('bad key **** given')
    expect(redactKey('abc', undefined)).toBe('abc')
  })

  it('turns a non-error status into a 502', () => {
    expect(upstreamHttpError(302, new Headers(), '', openai).status).toBe(502)
  })
})

describe('upstreamStreamError', () => {
  it('uses a numeric code as the status, else 500', () => {
    expect(upstreamStreamError({ message: 'slow down', code: 429 }, vllm).status).toBe(429)
    const crashed = upstreamStreamError({ message: 'engine dead', type: 'server_error' }, vllm)
    expect(crashed.status).toBe(500)
    expect(crashed.message).toBe(
      'litellm.InternalServerError: InternalServerError: Hosted_vllmException - engine dead',
    )
  })
})
