import { describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { bedrockProvider } from '../../src/providers/bedrock/provider'
import { openaiCompatibleProvider } from '../../src/providers/openai-compatible/provider'
import { sagemakerProvider } from '../../src/providers/sagemaker/provider'
import type { ChatProvider, Deployment, ProviderCall } from '../../src/providers/types'
import { errorBodyText, MAX_ERROR_BODY_BYTES, sendUpstream } from '../../src/providers/upstream-response'

/**
 * The upstream POST every provider shares: an error body is read up to 64 KB and the rest cancelled,
 * so an upstream (or a proxy in front of it) answering with an endless error body cannot make the
 * gateway buffer it.
 */

interface EndlessBody {
  stream: ReadableStream<Uint8Array>
  /** Bytes handed out so far. */
  served(): number
  cancelled(): boolean
}

/** A body that never ends: 16 KB of `x` per pull, until cancelled. */
function endlessBody(prefix = ''): EndlessBody {
  let served = 0
  let cancelled = false
  const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
  let first = true
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = first ? new TextEncoder().encode(prefix) : chunk
      first = false
      served += piece.byteLength
      controller.enqueue(piece)
    },
    cancel() {
      cancelled = true
    },
  })
  return { stream, served: () => served, cancelled: () => cancelled }
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('errorBodyText', () => {
  it('reads at most 64 KB of an endless body, then cancels it', async () => {
    const body = endlessBody('{"message":"overloaded"}')
    const text = await errorBodyText(new Response(body.stream, { status: 500 }))
    expect(text.length).toBe(MAX_ERROR_BODY_BYTES)
    expect(text.startsWith('{"message":"overloaded"}')).toBe(true)
    expect(body.cancelled()).toBe(true)
    expect(body.served()).toBeLessThan(MAX_ERROR_BODY_BYTES + 64 * 1024)
  })

  it('reads a short body whole and keeps multi-byte characters cut between chunks', async () => {
    const bytes = new TextEncoder().encode('{"message":"Grüße"}')
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 16))
        controller.enqueue(bytes.subarray(16))
        controller.close()
      },
    })
    expect(await errorBodyText(new Response(stream))).toBe('{"message":"Grüße"}')
    expect(await errorBodyText(new Response(null, { status: 500 }))).toBe('')
  })

  it('keeps what arrived when the body is cut mid-read', async () => {
    let pulls = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('partial'))
        else controller.error(new Error('reset'))
      },
    })
    expect(await errorBodyText(new Response(stream))).toBe('partial')
  })

  it('sendUpstream hands the capped text to the provider’s wording', async () => {
    const body = endlessBody('boom')
    let seen = ''
    const error = await rejection(
      sendUpstream(async () => new Response(body.stream, { status: 503 }), new AbortController().signal, {
        unreachable: () => new GatewayError({ status: 502, message: 'unreachable' }),
        redirected: () => new GatewayError({ status: 502, message: 'redirect' }),
        failed: (status, _headers, text) => {
          seen = text
          return new GatewayError({ status, message: 'failed' })
        },
      }),
    )
    expect(error.status).toBe(503)
    expect(seen.length).toBe(MAX_ERROR_BODY_BYTES)
    expect(body.cancelled()).toBe(true)
  })
})

describe('every provider caps the error body it reads', () => {
  const AWS = {
    aws_access_key_id: 'AKIDEXAMPLE',
    aws_secret_access_key: 'secret',
    aws_region_name: 'us-east-1',
  }
  const cases: Array<[string, ChatProvider, Deployment, string]> = [
    [
      'bedrock',
      bedrockProvider,
      {
        id: 'd',
        modelName: 'm',
        provider: 'bedrock',
        providerModel: 'anthropic.claude-3-haiku-20240307-v1:0',
        params: { model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0', ...AWS },
        modelInfo: {},
      },
      'BedrockException',
    ],
    [
      'sagemaker',
      sagemakerProvider,
      {
        id: 'd',
        modelName: 'm',
        provider: 'sagemaker',
        providerModel: 'endpoint-1',
        params: { model: 'sagemaker/endpoint-1', ...AWS },
        modelInfo: {},
      },
      'SagemakerException',
    ],
    [
      'openai',
      openaiCompatibleProvider,
      {
        id: 'd',
        modelName: 'm',
        provider: 'openai',
        providerModel: 'gpt-4o-mini',
        params: {
          model: 'openai/gpt-4o-mini',
          api_base: 'https://upstream.example/v1',
          api_key: 'sk-test-123456',
        },
        modelInfo: {},
      },
      'OpenAIException',
    ],
  ]

  it.each(cases)('%s', async (_name, provider, deployment, exception) => {
    const body = endlessBody()
    const call: ProviderCall = {
      deployment,
      env: {},
      fetch: async () => new Response(body.stream, { status: 500 }),
      signal: new AbortController().signal,
      dropParams: false,
      aws: staticAwsAccess({}),
    }
    const request = chatRequestSchema.parse({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
    const error = await rejection(provider.complete(request, call))
    expect(error.status).toBe(500)
    expect(error.message).toContain(exception)
    // The message quotes at most 500 characters of a body that is not JSON, and nothing more was read.
    expect(error.message.length).toBeLessThan(1000)
    expect(body.cancelled()).toBe(true)
    expect(body.served()).toBeLessThan(MAX_ERROR_BODY_BYTES + 64 * 1024)
  })
})
