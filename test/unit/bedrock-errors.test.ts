import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import {
  bedrockError,
  errorCodeFrom,
  isContextWindowError,
  redactAwsMessage,
} from '../../src/providers/bedrock/errors'

const json = (body: unknown): string => JSON.stringify(body)

describe('errorCodeFrom', () => {
  it('cuts the x-amzn-ErrorType URL suffix and namespace prefix', () => {
    expect(
      errorCodeFrom('ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/'),
    ).toBe('ThrottlingException')
    expect(errorCodeFrom('com.amazon.coral.service#ExpiredTokenException')).toBe('ExpiredTokenException')
    expect(errorCodeFrom(null)).toBeUndefined()
  })
})

describe('bedrockError', () => {
  it('maps a throttle like LiteLLM, with retry-after', () => {
    const error = bedrockError(
      429,
      new Headers({
        'x-amzn-ErrorType':
          'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
        'retry-after': '3',
      }),
      json({ message: 'Too many requests, please wait before trying again.' }),
    )
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.status).toBe(429)
    expect(error.code).toBe('429')
    expect(error.origin).toBe('upstream')
    expect(error.retryable).toBe(true)
    expect(error.retryAfter).toBe(3)
    expect(error.message).toBe(
      'litellm.RateLimitError: BedrockException - Too many requests, please wait before trying again.',
    )
  })

  it.each([
    ['ValidationException', 400, 'BadRequestError'],
    ['ServiceQuotaExceededException', 400, 'BadRequestError'],
    ['UnrecognizedClientException', 401, 'AuthenticationError'],
    ['InvalidSignatureException', 401, 'AuthenticationError'],
    ['MissingAuthenticationTokenException', 401, 'AuthenticationError'],
    ['ExpiredTokenException', 401, 'AuthenticationError'],
    ['IncompleteSignatureException', 401, 'AuthenticationError'],
    ['AccessDeniedException', 403, 'PermissionDeniedError'],
    ['ResourceNotFoundException', 404, 'NotFoundError'],
    ['ModelTimeoutException', 408, 'Timeout'],
    ['InternalServerException', 500, 'InternalServerError'],
    ['ModelErrorException', 500, 'InternalServerError'],
    ['ModelNotReadyException', 503, 'ServiceUnavailableError'],
    ['ServiceUnavailableException', 503, 'ServiceUnavailableError'],
  ])('%s → %i', (code, status, className) => {
    // The upstream status is deliberately wrong: the code decides.
    const error = bedrockError(
      418,
      new Headers({ 'x-amzn-errortype': `${code}:http://x/` }),
      json({ message: 'm' }),
    )
    expect(error.status).toBe(status)
    expect(error.message).toBe(`litellm.${className}: BedrockException - m`)
  })

  it('falls back to the body code, then __type, and reads Message', () => {
    expect(bedrockError(500, new Headers(), json({ code: 'ThrottlingException', message: 'x' })).status).toBe(
      429,
    )
    const typed = bedrockError(
      400,
      new Headers(),
      json({ __type: 'com.amazon.coral.service#ExpiredTokenException', Message: 'expired' }),
    )
    expect(typed.status).toBe(401)
    expect(typed.message).toBe('litellm.AuthenticationError: BedrockException - expired')
  })

  it('keeps the upstream status for unknown codes and non-JSON bodies', () => {
    const unknown = bedrockError(
      409,
      new Headers({ 'x-amzn-errortype': 'ConflictException' }),
      json({ message: 'busy' }),
    )
    expect(unknown.status).toBe(409)
    expect(unknown.message).toBe('litellm.APIError: BedrockException - ConflictException: busy')
    const html = bedrockError(504, new Headers(), '<html>Gateway Timeout</html>')
    expect(html.status).toBe(504)
    expect(html.message).toMatch(/Gateway Timeout/)
    expect(bedrockError(302, new Headers(), '').status).toBe(502)
  })

  it('never repeats the canonical request or key ids from a signature mismatch', () => {
    const awsMessage =
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\n' +
      "The Canonical String for this request should have been\n'POST\n/model/x/converse\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\n" +
      "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'"
    const error = bedrockError(
      403,
      new Headers({ 'x-amzn-errortype': 'InvalidSignatureException' }),
      json({ message: awsMessage }),
    )
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/does not match the signature you provided/)
    expect(error.message).not.toMatch(/IQoJ|Canonical|x-amz-security-token/)
    expect(redactAwsMessage('The key AKIAIOSFODNN7EXAMPLE is unknown')).toBe('The key AKIA**** is unknown')
  })
})

describe('isContextWindowError', () => {
  it.each([
    'Input is too long for requested model.',
    'prompt is too long: 210000 tokens > 200000 maximum',
    'This model’s maximum context length is 8192 tokens.',
    'The input exceeds the context window of the model.',
  ])('detects "%s" and names it like LiteLLM', (message) => {
    const error = bedrockError(
      400,
      new Headers({ 'x-amzn-errortype': 'ValidationException' }),
      json({ message }),
    )
    expect(isContextWindowError(error)).toBe(true)
    expect(error.code).toBe('400')
    expect(error.message).toMatch(/^litellm\.ContextWindowExceededError: BedrockException - /)
  })

  it('is false for other validation errors and for non-400s', () => {
    const other = bedrockError(
      400,
      new Headers({ 'x-amzn-errortype': 'ValidationException' }),
      json({ message: 'The provided model identifier is invalid.' }),
    )
    expect(isContextWindowError(other)).toBe(false)
    expect(isContextWindowError(new GatewayError({ status: 500, message: 'too long' }))).toBe(false)
    expect(isContextWindowError(new Error('Input is too long'))).toBe(false)
  })
})
