import { describe, expect, it } from 'vitest'
import { containerMessage, sagemakerError } from '../../src/providers/sagemaker/errors'

const headers = (code?: string) =>
  new Headers(
    code ? { 'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazon.sagemaker/` } : {},
  )

describe('sagemakerError', () => {
  it('ModelError (424) surfaces the container’s status and its own message', () => {
    const body = JSON.stringify({
      ErrorCode: 'CLIENT_ERROR_FROM_MODEL',
      LogStreamArn: 'arn:aws:logs:us-west-2:123456789012:log-group:/aws/sagemaker/Endpoints/e',
      Message:
        'Received client error (422) from primary with message "{...}". See https://… for more information.',
      OriginalMessage:
        '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}',
      OriginalStatusCode: 422,
    })
    const error = sagemakerError(424, headers('ModelError'), body)
    expect(error.status).toBe(400)
    expect(error.message).toBe(
      'litellm.BadRequestError: SagemakerException - Input validation error: `temperature` must be strictly positive',
    )
    expect(error.retryable).toBe(false)
  })

  it('a too-long prompt inside a ModelError is a ContextWindowExceededError', () => {
    const original = JSON.stringify({
      error:
        'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`',
      error_type: 'validation',
    })
    const error = sagemakerError(
      424,
      headers('ModelError'),
      JSON.stringify({ OriginalStatusCode: 422, OriginalMessage: original }),
    )
    expect(error.status).toBe(400)
    expect(error.message).toMatch(
      /^litellm\.ContextWindowExceededError: SagemakerException - Input validation error/,
    )
  })

  it('container 429 stays 429, container 5xx and auth trouble become 500', () => {
    expect(
      sagemakerError(
        424,
        headers('ModelError'),
        JSON.stringify({ OriginalStatusCode: 429, OriginalMessage: 'busy' }),
      ).status,
    ).toBe(429)
    expect(
      sagemakerError(
        424,
        headers('ModelError'),
        JSON.stringify({ OriginalStatusCode: 503, OriginalMessage: 'x' }),
      ).status,
    ).toBe(500)
    expect(
      sagemakerError(
        424,
        headers('ModelError'),
        JSON.stringify({ OriginalStatusCode: 401, OriginalMessage: 'x' }),
      ).status,
    ).toBe(500)
  })

  it.each([
    ['ValidationError', 400, 'Bad parameter', 400, 'BadRequestError'],
    ['ValidationError', 400, 'Endpoint my-endpoint of account 123456789012 not found.', 404, 'NotFoundError'],
    ['ThrottlingException', 400, 'Rate exceeded', 429, 'RateLimitError'],
    ['ModelNotReadyException', 429, 'Model is not ready', 503, 'ServiceUnavailableError'],
    ['ServiceUnavailable', 503, 'Service unavailable', 503, 'ServiceUnavailableError'],
    ['InternalFailure', 500, 'Internal failure', 500, 'InternalServerError'],
    ['InternalDependencyException', 530, 'Dependency failed', 502, 'BadGatewayError'],
    [
      'AccessDeniedException',
      403,
      'User is not authorized to perform sagemaker:InvokeEndpoint',
      403,
      'PermissionDeniedError',
    ],
    [
      'UnrecognizedClientException',
      403,
      'The security token included in the request is invalid.',
      401,
      'AuthenticationError',
    ],
  ])('%s (HTTP %i) → %i %s with the AWS message', (code, status, message, expected, className) => {
    const error = sagemakerError(status, headers(code), JSON.stringify({ Message: message }))
    expect(error.status).toBe(expected)
    expect(error.message).toBe(`litellm.${className}: SagemakerException - ${message}`)
  })

  it('keeps retry-after, adds LiteLLM’s model_id hint, and redacts signature details and key ids', () => {
    const throttled = sagemakerError(
      429,
      new Headers({ 'x-amzn-errortype': 'ThrottlingException', 'retry-after': '3' }),
      '{"message":"slow down"}',
    )
    expect(throttled.retryAfter).toBe(3)
    const hint = sagemakerError(
      400,
      headers('ValidationError'),
      JSON.stringify({
        Message:
          'Inference Component Name header is required for endpoints to which you plan to deploy inference components.',
      }),
    )
    expect(hint.message).toContain('Set litellm_params.model_id to the inference component name.')
    const signature = sagemakerError(
      403,
      headers('InvalidSignatureException'),
      JSON.stringify({
        message:
          'Signature mismatch for AKIAABCDEFGHIJKLMNOP.\n\nThe Canonical String ... x-amz-security-token:SECRET',
      }),
    )
    expect(signature.status).toBe(401)
    expect(signature.message).not.toContain('SECRET')
    expect(signature.message).toContain('AKIA****')
  })

  it('an unknown code keeps its name in the message; a bodyless answer still says something', () => {
    expect(sagemakerError(418, headers('WeirdException'), '{"Message":"odd"}').message).toContain(
      'WeirdException: odd',
    )
    expect(sagemakerError(502, new Headers(), '').message).toBe(
      'litellm.BadGatewayError: SagemakerException - HTTP 502',
    )
  })
})

describe('containerMessage', () => {
  it('reads TGI, OpenAI-style and plain error bodies', () => {
    expect(containerMessage('{"error":"boom","error_type":"generation"}')).toBe('boom')
    expect(containerMessage('{"error":{"message":"bad model","type":"NotFoundError"}}')).toBe('bad model')
    expect(containerMessage('{"message":"nope"}')).toBe('nope')
    expect(containerMessage(' plain text ')).toBe('plain text')
  })
})
