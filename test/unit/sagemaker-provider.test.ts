import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { providerFor } from '../../src/providers/registry'
import { sagemakerChatProvider, sagemakerProvider } from '../../src/providers/sagemaker/provider'
import type { ChatDelta, Deployment, ProviderCall } from '../../src/providers/types'
import { DEFAULT_TGI_REPLY, type FakeSagemaker, startFakeSagemaker } from '../fakes/sagemaker'

let fake: FakeSagemaker

beforeAll(async () => {
  fake = await startFakeSagemaker({
    endpoints: {
      'hf-llm-mistral-7b-instruct': { kind: 'tgi' },
      'lmi-llama-3-8b': { kind: 'lmi', reply: 'LMI says hi' },
      'tgi-messages': { kind: 'messages' },
      'tgi-messages-dialect': { kind: 'messages', dialect: 'tgi' },
      'shared-endpoint': { kind: 'messages', inferenceComponents: ['ic-a', 'ic-b'] },
    },
  })
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => fake.reset())

const deployment = (
  provider: 'sagemaker' | 'sagemaker_chat',
  endpoint: string,
  params: Record<string, unknown> = {},
): Deployment => ({
  id: 'd1',
  modelName: 'group',
  provider,
  providerModel: endpoint,
  params: {
    model: `${provider}/${endpoint}`,
    aws_region_name: 'us-west-2',
    aws_access_key_id: fake.credentials.accessKeyId,
    aws_secret_access_key: fake.credentials.secretAccessKey,
    api_base: fake.url,
    ...params,
  },
  modelInfo: {},
})

const call = (d: Deployment, signal = new AbortController().signal): ProviderCall => ({
  deployment: d,
  env: {},
  fetch,
  signal,
  dropParams: false,
  aws: staticAwsAccess({}),
})

const request = (body: Record<string, unknown> = {}) =>
  chatRequestSchema.parse({
    model: 'group',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    ...body,
  })

async function collect(items: AsyncIterable<ChatDelta>): Promise<ChatDelta[]> {
  const out: ChatDelta[] = []
  for await (const item of items) out.push(item)
  return out
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

describe('sagemaker/ (TGI) against the fake', () => {
  it('the registry routes both prefixes here', () => {
    expect(providerFor(deployment('sagemaker', 'x'), request())).toBe(sagemakerProvider)
    expect(providerFor(deployment('sagemaker_chat', 'x'), request())).toBe(sagemakerChatProvider)
  })

  it('sends a SigV4-signed (service sagemaker) InvokeEndpoint with the templated prompt and reads the answer', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct', { custom_attributes: 'accept_eula=true' })
    const out = await sagemakerProvider.complete(request({ max_tokens: 100, temperature: 0 }), call(d))
    expect(out.message.content).toBe(DEFAULT_TGI_REPLY)
    expect(out.finishReason).toBe('stop')
    expect(out.usage.completion_tokens).toBeGreaterThan(0)
    const seen = fake.requests.at(-1)!
    expect(seen.auth).toEqual({ ok: true })
    expect(seen.region).toBe('us-west-2')
    expect(seen.operation).toBe('invocations')
    expect(seen.customAttributes).toBe('accept_eula=true')
    expect(seen.body).toEqual({
      inputs: '[INST] What is the weather in Paris? [/INST]',
      parameters: { max_new_tokens: 100, temperature: 0.01, return_full_text: false, details: true },
      stream: false,
    })
  })

  it('max_new_tokens cuts the answer and details (asked for by default) report finish length', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct')
    const out = await sagemakerProvider.complete(request({ max_tokens: 2 }), call(d))
    expect(out.message.content).toBe('Hello! Ça')
    expect(out.finishReason).toBe('length')
    expect(out.usage.completion_tokens).toBe(2)
    const streamed = await collect(await sagemakerProvider.stream(request({ max_tokens: 2 }), call(d)))
    expect(streamed.at(-1)?.finishReason).toBe('length')
    // The container's own count from details (the fake's stream counts its closing token too).
    expect(streamed.at(-1)?.usage?.completion_tokens).toBe(3)
  })

  it('without details (turned off) TGI says nothing of the cut, which then reads as stop', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct', { details: false })
    const out = await sagemakerProvider.complete(request({ max_tokens: 2 }), call(d))
    expect(out.finishReason).toBe('stop')
    expect(fake.requests.at(-1)?.body).toMatchObject({ parameters: { details: false } })
  })

  it('streams InvokeEndpointWithResponseStream PayloadParts back into the exact text', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct')
    const deltas = await collect(await sagemakerProvider.stream(request(), call(d)))
    expect(deltas.map((x) => x.content ?? '').join('')).toBe(DEFAULT_TGI_REPLY)
    expect(deltas.at(-1)?.finishReason).toBe('stop')
    expect(fake.requests.at(-1)?.operation).toBe('invocations-response-stream')
    expect(fake.requests.at(-1)?.headers.accept).toBe('application/vnd.amazon.eventstream')
    expect((fake.requests.at(-1)!.body as { stream: boolean }).stream).toBe(true)
  })

  it('LMI: bare-object answers and JSON Lines streams', async () => {
    const d = deployment('sagemaker', 'lmi-llama-3-8b')
    expect((await sagemakerProvider.complete(request(), call(d))).message.content).toBe('LMI says hi')
    const deltas = await collect(await sagemakerProvider.stream(request(), call(d)))
    expect(deltas.map((x) => x.content ?? '').join('')).toBe('LMI says hi')
    expect((fake.requests.at(-1)!.body as { inputs: string }).inputs).toContain(
      '<|start_header_id|>user<|end_header_id|>',
    )
  })

  it('a container validation error (424 ModelError) is a 400 with TGI’s message', async () => {
    fake.script({
      type: 'model-error',
      originalStatus: 422,
      originalMessage:
        '{"error":"Input validation error: `top_k` must be strictly positive","error_type":"validation"}',
    })
    const error = await rejection(
      sagemakerProvider.complete(request(), call(deployment('sagemaker', 'hf-llm-mistral-7b-instruct'))),
    )
    expect(error.status).toBe(400)
    expect(error.message).toBe(
      'litellm.BadRequestError: SagemakerException - Input validation error: `top_k` must be strictly positive',
    )
  })

  it('an unknown endpoint is a 404 naming it; throttling a 429', async () => {
    const missing = await rejection(
      sagemakerProvider.complete(request(), call(deployment('sagemaker', 'no-such-endpoint'))),
    )
    expect(missing.status).toBe(404)
    expect(missing.message).toContain('Endpoint no-such-endpoint of account')
    fake.script({ type: 'error', errorType: 'ThrottlingException', message: 'Rate exceeded' })
    const throttled = await rejection(
      sagemakerProvider.complete(request(), call(deployment('sagemaker', 'hf-llm-mistral-7b-instruct'))),
    )
    expect(throttled.status).toBe(429)
  })

  it('an exception frame before any payload fails the stream call itself; after payloads it fails mid-stream', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct')
    fake.script({
      type: 'stream-exception',
      afterParts: 0,
      exception: 'ModelStreamError',
      message: 'Model crashed',
      errorCode: 'StreamBroken',
    })
    const iterator = (await sagemakerProvider.stream(request(), call(d)))[Symbol.asyncIterator]()
    const early = await rejection(iterator.next())
    expect(early.status).toBe(500)
    expect(early.message).toContain('Model crashed')
    fake.script({
      type: 'stream-exception',
      afterParts: 12,
      exception: 'InternalStreamFailure',
      message: 'Internal stream failure',
    })
    const deltas: ChatDelta[] = []
    const late = await rejection(
      (async () => {
        for await (const delta of await sagemakerProvider.stream(request(), call(d))) deltas.push(delta)
      })(),
    )
    expect(deltas.length).toBeGreaterThan(0)
    expect(late.status).toBe(502)
    expect(late.message).toContain('InternalStreamFailure')
  })

  it('wrong credentials are refused by the fake’s SigV4 check and mapped to 401', async () => {
    const d = deployment('sagemaker', 'hf-llm-mistral-7b-instruct', { aws_secret_access_key: 'wrong-secret' })
    const error = await rejection(sagemakerProvider.complete(request(), call(d)))
    expect(error.status).toBe(401)
    expect(error.message).not.toContain('Canonical')
  })
})

describe('sagemaker_chat/ (Messages API) against the fake', () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
  ]

  it('passes tools through and maps the tool call and usage', async () => {
    const out = await sagemakerChatProvider.complete(
      request({ tools }),
      call(deployment('sagemaker_chat', 'tgi-messages')),
    )
    expect(out.finishReason).toBe('tool_calls')
    expect(out.message.tool_calls?.[0]?.function).toEqual({
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    })
    expect(out.usage).toEqual({ prompt_tokens: 6, completion_tokens: 1, total_tokens: 7 })
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: 'tgi-messages', tools })
  })

  it('streams tool-call arguments in pieces (TGI dialect too) and ends with usage', async () => {
    for (const endpoint of ['tgi-messages', 'tgi-messages-dialect']) {
      const deltas = await collect(
        await sagemakerChatProvider.stream(request({ tools }), call(deployment('sagemaker_chat', endpoint))),
      )
      const calls = deltas.flatMap((x) => x.toolCalls ?? [])
      expect(calls[0]?.function.name).toBe('get_weather')
      expect(calls.map((c) => c.function.arguments).join('')).toBe('{"city":"Paris"}')
      expect(deltas.some((x) => x.finishReason === 'tool_calls')).toBe(true)
      expect(deltas.at(-1)?.usage?.total_tokens).toBe(7)
    }
  })

  it('model_id becomes the inference-component header; without it the endpoint refuses with LiteLLM’s hint', async () => {
    const out = await sagemakerChatProvider.complete(
      request({ messages: [{ role: 'user', content: 'Hi' }] }),
      call(deployment('sagemaker_chat', 'shared-endpoint', { model_id: 'ic-b' })),
    )
    expect(out.message.content).toBe('You said: Hi')
    expect(fake.requests.at(-1)?.inferenceComponent).toBe('ic-b')
    const error = await rejection(
      sagemakerChatProvider.complete(request(), call(deployment('sagemaker_chat', 'shared-endpoint'))),
    )
    expect(error.status).toBe(400)
    expect(error.message).toContain('Set litellm_params.model_id')
  })

  it('reports the endpoint name as the model and the runtime base as api base', () => {
    const d = deployment('sagemaker_chat', 'tgi-messages', {
      api_base: undefined,
      aws_region_name: 'eu-central-1',
    })
    expect(sagemakerChatProvider.responseModel?.(d)).toBe('tgi-messages')
    expect(sagemakerChatProvider.apiBase?.(d, {})).toBe(
      'https://runtime.sagemaker.eu-central-1.amazonaws.com',
    )
  })
})

describe('transport failures', () => {
  it('a redirect is not followed and is a 502', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(307, { location: 'http://elsewhere.example/' })
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const error = await rejection(
        sagemakerProvider.complete(request(), call(deployment('sagemaker', 'e', { api_base: url }))),
      )
      expect(error.status).toBe(502)
      expect(error.message).toContain('redirects are not followed')
    } finally {
      server.close()
    }
  })

  it('an unreachable endpoint is a retryable 502 naming only the host and an errno', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const error = await rejection(
      sagemakerProvider.complete(
        request(),
        call(deployment('sagemaker', 'e', { api_base: `http://127.0.0.1:${port}` })),
      ),
    )
    expect(error.status).toBe(502)
    expect(error.retryable).toBe(true)
    expect(error.message).toBe(
      `litellm.APIConnectionError: SagemakerException - could not reach 127.0.0.1:${port} (ECONNREFUSED).`,
    )
  })
})
