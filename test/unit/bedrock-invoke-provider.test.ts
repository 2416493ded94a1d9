import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { bedrockProvider } from '../../src/providers/bedrock/provider'
import type { ChatDelta, Deployment, ProviderCall } from '../../src/providers/types'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'

/** The provider's Invoke route against the fake runtime: real HTTP, SigV4 verified, real event stream. */
let fake: FakeBedrock

beforeAll(async () => {
  fake = await startFakeBedrock()
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => fake.reset())

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0'

function call(model = `invoke/${HAIKU}`, params: Record<string, unknown> = {}): ProviderCall {
  const deployment: Deployment = {
    id: 'd1',
    modelName: 'claude-invoke',
    provider: 'bedrock',
    providerModel: model,
    params: {
      model: `bedrock/${model}`,
      aws_region_name: fake.region,
      aws_access_key_id: fake.credentials.accessKeyId,
      aws_secret_access_key: fake.credentials.secretAccessKey,
      aws_bedrock_runtime_endpoint: fake.url,
      ...params,
    },
    modelInfo: {},
  }
  return {
    deployment,
    env: {},
    fetch: (input, init) => fetch(input, init),
    signal: new AbortController().signal,
    dropParams: false,
    aws: staticAwsAccess({}),
  }
}

const request = (body: Record<string, unknown>) =>
  chatRequestSchema.parse({ model: 'claude-invoke', ...body })

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

async function collect(stream: AsyncIterable<ChatDelta>): Promise<{ out: ChatDelta[]; error?: unknown }> {
  const out: ChatDelta[] = []
  try {
    for await (const d of stream) out.push(d)
  } catch (error) {
    return { out, error }
  }
  return { out }
}

describe('bedrock/invoke/anthropic… complete', () => {
  it('POSTs a signed Anthropic Messages body to /invoke and maps the answer', async () => {
    const output = await bedrockProvider.complete(
      request({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello there' },
        ],
      }),
      call(),
    )
    expect(output.message.content).toBe('You said: Hello there')
    expect(output.finishReason).toBe('stop')
    // The fake counts words: system (2) + user (2) in, "You said: Hello there" (4) out.
    expect(output.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 })
    expect(output.model).toBe(HAIKU)
    const [seen] = fake.requests
    expect(seen?.auth).toEqual({ ok: true })
    expect(seen?.operation).toBe('invoke')
    expect(seen?.rawPath).toBe('/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke')
    expect(seen?.headers.accept).toBe('application/json')
    expect(seen?.body).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 4096,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
    })
  })

  it('calls a tool and takes the tool result back', async () => {
    const first = await bedrockProvider.complete(
      request({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather] }),
      call(),
    )
    expect(first.finishReason).toBe('tool_calls')
    const toolCall = first.message.tool_calls?.[0]
    expect(toolCall?.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' })
    expect(toolCall?.id).toMatch(/^toolu_bdrk_/)
    const second = await bedrockProvider.complete(
      request({
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [toolCall] },
          { role: 'tool', tool_call_id: toolCall?.id, content: 'Sunny, 24C' },
        ],
        tools: [weather],
      }),
      call(),
    )
    expect(second.message.content).toBe('Tool result: Sunny, 24C')
    // Bedrock (the fake) accepted the pairing of tool_use and tool_result.
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200])
  })

  it('maps a Bedrock error answer', async () => {
    fake.script({ type: 'error', errorType: 'ThrottlingException', headers: { 'retry-after': '3' } })
    const error = await bedrockProvider
      .complete(request({ messages: [{ role: 'user', content: 'x' }] }), call())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect(error).toMatchObject({ status: 429, retryAfter: 3 })
  })

  it('refuses Invoke for a non-Anthropic model before any I/O', async () => {
    const error = await bedrockProvider
      .complete(
        request({ messages: [{ role: 'user', content: 'x' }] }),
        call('invoke/amazon.titan-text-express-v1'),
      )
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, origin: 'gateway' })
    expect(fake.requests).toHaveLength(0)
  })
})

describe('bedrock/invoke/anthropic… stream', () => {
  it('calls /invoke-with-response-stream and streams text, finish reason and usage', async () => {
    const stream = await bedrockProvider.stream(
      request({ messages: [{ role: 'user', content: 'Stream me a reply please' }], max_tokens: 50 }),
      call(`invoke/us.${HAIKU}`),
    )
    const { out, error } = await collect(stream)
    expect(error).toBeUndefined()
    expect(out.map((d) => d.content ?? '').join('')).toBe('You said: Stream me a reply please')
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('stop')
    expect(out.at(-1)?.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })
    const [seen] = fake.requests
    expect(seen?.operation).toBe('invoke-with-response-stream')
    expect(seen?.headers['x-amzn-bedrock-accept']).toBe('application/json')
    expect(seen?.body).toMatchObject({ max_tokens: 50 })
  })

  it('streams a tool call whose arguments arrive in fragments', async () => {
    const stream = await bedrockProvider.stream(
      request({ messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weather] }),
      call(),
    )
    const { out } = await collect(stream)
    const calls = out.flatMap((d) => d.toolCalls ?? [])
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } })
    expect(JSON.parse(calls.map((c) => c.function.arguments).join(''))).toEqual({ city: 'Paris' })
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('tool_calls')
  })

  it('turns an exception frame mid-stream into a GatewayError after the content so far', async () => {
    fake.script({
      type: 'stream',
      exceptionAfter: 4,
      exception: { type: 'modelStreamErrorException', message: 'The model stopped.' },
    })
    const stream = await bedrockProvider.stream(
      request({ messages: [{ role: 'user', content: 'one two three' }] }),
      call(),
    )
    const { out, error } = await collect(stream)
    expect(out.map((d) => d.content ?? '').join('')).toBe('You said:')
    expect(error).toMatchObject({
      status: 500,
      message: 'litellm.InternalServerError: BedrockException - The model stopped.',
    })
  })

  it('answers an error before the stream as an ordinary error', async () => {
    fake.script({ type: 'error', errorType: 'ValidationException', message: 'Bad input.' })
    const error = await bedrockProvider
      .stream(request({ messages: [{ role: 'user', content: 'x' }] }), call())
      .catch((e: unknown) => e)
    expect(error).toMatchObject({
      status: 400,
      message: 'litellm.BadRequestError: BedrockException - Bad input.',
    })
  })
})

describe('guardrails on the Invoke route', () => {
  const GUARDRAIL_HEADERS = [
    'x-amzn-bedrock-guardrailidentifier',
    'x-amzn-bedrock-guardrailversion',
    'x-amzn-bedrock-trace',
  ]
  const operator = { guardrailIdentifier: 'corp-pii', guardrailVersion: '3', trace: 'enabled' }

  it('sends the configured guardrail as signed headers on invoke and invoke-with-response-stream', async () => {
    await bedrockProvider.complete(
      request({ messages: [{ role: 'user', content: 'hi' }] }),
      call(undefined, { guardrailConfig: operator }),
    )
    const stream = await bedrockProvider.stream(
      request({ messages: [{ role: 'user', content: 'hi' }] }),
      call(undefined, { guardrailConfig: operator }),
    )
    await collect(stream)
    expect(fake.requests.map((r) => r.operation)).toEqual(['invoke', 'invoke-with-response-stream'])
    for (const seen of fake.requests) {
      expect(seen.auth).toEqual({ ok: true })
      expect(seen.headers['x-amzn-bedrock-guardrailidentifier']).toBe('corp-pii')
      expect(seen.headers['x-amzn-bedrock-guardrailversion']).toBe('3')
      expect(seen.headers['x-amzn-bedrock-trace']).toBe('ENABLED')
      // Covered by the verified signature: a proxy on the way cannot strip or change them.
      expect(seen.signedHeaders).toEqual(expect.arrayContaining(GUARDRAIL_HEADERS))
      expect(seen.body).not.toHaveProperty('guardrailConfig')
    }
  })

  it('keeps the operator’s guardrail over a client’s; a client may add one where there is none', async () => {
    const permissive = { guardrailIdentifier: 'permissive', guardrailVersion: 'DRAFT' }
    await bedrockProvider.complete(
      request({ messages: [{ role: 'user', content: 'hi' }], guardrailConfig: permissive }),
      call(undefined, { guardrailConfig: operator }),
    )
    await bedrockProvider.complete(
      request({ messages: [{ role: 'user', content: 'hi' }], guardrailConfig: permissive }),
      call(),
    )
    await bedrockProvider.complete(request({ messages: [{ role: 'user', content: 'hi' }] }), call())
    const [first, second, third] = fake.requests
    expect(first?.headers['x-amzn-bedrock-guardrailidentifier']).toBe('corp-pii')
    expect(second?.headers['x-amzn-bedrock-guardrailidentifier']).toBe('permissive')
    expect(second?.headers['x-amzn-bedrock-guardrailversion']).toBe('DRAFT')
    expect(second?.headers).not.toHaveProperty('x-amzn-bedrock-trace')
    for (const name of GUARDRAIL_HEADERS) expect(third?.headers).not.toHaveProperty(name)
  })
})

describe('response_format on the invoke/ route', () => {
  const responseFormat = {
    type: 'json_schema',
    json_schema: {
      name: 'weather',
      schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }
  const answer = { type: 'reply' as const, toolUses: [{ name: 'json_tool_call', input: { city: 'Paris' } }] }

  it('forces the schema tool and answers with its input as JSON content', async () => {
    fake.script(answer)
    const output = await bedrockProvider.complete(
      request({ messages: [{ role: 'user', content: 'Where?' }], response_format: responseFormat }),
      call(),
    )
    expect(JSON.parse(output.message.content ?? '')).toEqual({ city: 'Paris' })
    expect(output.message.tool_calls).toBeUndefined()
    expect(output.finishReason).toBe('stop')
    expect(fake.requests[0]?.body).toMatchObject({ tool_choice: { type: 'tool', name: 'json_tool_call' } })
  })

  it('streams the schema tool’s input as content', async () => {
    fake.script({ ...answer })
    const stream = await bedrockProvider.stream(
      request({ messages: [{ role: 'user', content: 'Where?' }], response_format: responseFormat }),
      call(),
    )
    const { out, error } = await collect(stream)
    expect(error).toBeUndefined()
    expect(out.flatMap((d) => d.toolCalls ?? [])).toEqual([])
    expect(JSON.parse(out.map((d) => d.content ?? '').join(''))).toEqual({ city: 'Paris' })
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('stop')
  })
})
