import OpenAI, { type APIError } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * The real Node server, driven by the official `openai` client over HTTP, in front of the fake
 * Bedrock runtime (SigV4 verified with @smithy/signature-v4, real event-stream frames).
 */
const MASTER_KEY = 'sk-e2e-master-key'
let fake: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const CONFIG = `
model_list:
  - model_name: bedrock-claude-v3-haiku
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: impatient
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
      timeout: 1
      stream_timeout: 1
  - model_name: demo
    litellm_params:
      model: mock/demo
      mock_response: Hello from the mock
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

beforeAll(async () => {
  fake = await startFakeBedrock()
  gateway = await startGateway(['--config', writeConfig(CONFIG)], {
    LITELLM_MASTER_KEY: MASTER_KEY,
    FAKE_AWS_KEY: fake.credentials.accessKeyId,
    FAKE_AWS_SECRET: fake.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
  })
  client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await fake?.close()
})

beforeEach(() => fake.reset())

describe('chat completions through Bedrock Converse', () => {
  it('answers a non-streaming call and reports the deployment in headers', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'bedrock-claude-v3-haiku',
        messages: [{ role: 'user', content: 'Hello there' }],
        max_tokens: 50,
      })
      .withResponse()
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]?.message.content).toBe('You said: Hello there')
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 })
    expect(response.headers.get('x-litellm-call-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(response.headers.get('x-litellm-model-id')).toMatch(/^[0-9a-f]{64}$/)
    expect(response.headers.get('x-litellm-model-group')).toBe('bedrock-claude-v3-haiku')
    expect(response.headers.get('x-litellm-model-api-base')).toBe(fake.url)
    expect(Number(response.headers.get('x-litellm-overhead-duration-ms'))).toBeGreaterThanOrEqual(0)
    expect(response.headers.get('x-litellm-version')).toBeTruthy()

    expect(fake.requests).toHaveLength(1)
    const upstream = fake.requests[0]!
    expect(upstream.auth).toEqual({ ok: true })
    expect(upstream.operation).toBe('converse')
    expect(upstream.rawPath).toBe('/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse')
    expect(upstream.body).toMatchObject({ inferenceConfig: { maxTokens: 50 } })
  })

  it('streams chunks with a final usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'bedrock-claude-v3-haiku',
      messages: [{ role: 'user', content: 'Stream me a reply please' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let finish: string | null = null
    let usage: OpenAI.CompletionUsage | undefined | null
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('You said: Stream me a reply please')
    expect(chunks).toBeGreaterThan(3)
    expect(finish).toBe('stop')
    expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })
    expect(fake.requests[0]?.operation).toBe('converse-stream')
  })

  it('calls tools and takes tool results back', async () => {
    const first = await client.chat.completions.create({
      model: 'bedrock-claude-v3-haiku',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
    })
    const call = first.choices[0]?.message.tool_calls?.[0]
    expect(first.choices[0]?.finish_reason).toBe('tool_calls')
    expect(call?.type).toBe('function')
    if (call?.type !== 'function') throw new Error('expected a function tool call')
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(fake.requests[0]?.body).toMatchObject({
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather' } }], toolChoice: { auto: {} } },
    })

    const second = await client.chat.completions.create({
      model: 'bedrock-claude-v3-haiku',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '22C and sunny' },
      ],
      tools: [weatherTool],
    })
    expect(second.choices[0]?.message.content).toBe('Tool result: 22C and sunny')
    expect(fake.requests[1]?.body).toMatchObject({
      messages: [
        { role: 'user' },
        {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: call.id, name: 'get_weather', input: { city: 'Paris' } } }],
        },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId: call.id, content: [{ text: '22C and sunny' }] } }],
        },
      ],
    })
  })

  it('streams tool-call arguments as deltas on choice 0', async () => {
    const stream = await client.chat.completions.create({
      model: 'bedrock-claude-v3-haiku',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    })
    let name = ''
    let args = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      expect(choice?.index ?? 0).toBe(0)
      for (const t of choice?.delta.tool_calls ?? []) {
        name += t.function?.name ?? ''
        args += t.function?.arguments ?? ''
      }
      finish = choice?.finish_reason ?? finish
    }
    expect(name).toBe('get_weather')
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expect(finish).toBe('tool_calls')
  })

  it('serves the mock model group without any upstream call', async () => {
    const reply = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(reply.choices[0]?.message.content).toBe('Hello from the mock')
    expect(reply.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 })
    expect(fake.requests).toHaveLength(0)
  })

  it('lists model groups', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id).sort()).toEqual(['bedrock-claude-v3-haiku', 'demo', 'impatient'])
  })
})

describe('errors arrive as typed SDK exceptions', () => {
  it('wrong key → AuthenticationError', async () => {
    const bad = new OpenAI({ apiKey: 'sk-not-the-key', baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    const error = await bad.chat.completions
      .create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((error as APIError).code).toBe('401')
  })

  it('unknown model → BadRequestError naming the model', async () => {
    const error = await client.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as APIError).message).toContain('model=no-such-model')
    expect((error as APIError).param).toBe('model')
  })

  it('Bedrock throttling → RateLimitError with the AWS message kept', async () => {
    fake.script({ type: 'error', errorType: 'ThrottlingException' })
    const error = await client.chat.completions
      .create({ model: 'bedrock-claude-v3-haiku', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as APIError).message).toContain('Too many requests, please wait before trying again.')
  })

  it('Bedrock access denied → PermissionDeniedError; validation → BadRequestError', async () => {
    fake.script(
      { type: 'error', errorType: 'AccessDeniedException' },
      { type: 'error', errorType: 'ValidationException', message: 'Malformed input request' },
    )
    const denied = await client.chat.completions
      .create({ model: 'bedrock-claude-v3-haiku', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError)
    const invalid = await client.chat.completions
      .create({ model: 'bedrock-claude-v3-haiku', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError)
    expect((invalid as APIError).message).toContain('Malformed input request')
  })

  it('a mid-stream exception frame raises while iterating, after the text already received', async () => {
    fake.script({
      type: 'stream',
      exceptionAfter: 3,
      exception: {
        type: 'throttlingException',
        message: 'Too many tokens, please wait before trying again.',
      },
    })
    const stream = await client.chat.completions.create({
      model: 'bedrock-claude-v3-haiku',
      messages: [{ role: 'user', content: 'a fairly long prompt to stream back' }],
      stream: true,
    })
    let text = ''
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(String((error as Error).message)).toContain('Too many tokens')
    expect(text.length).toBeGreaterThan(0)
  })

  it('wrong types → 400 naming the param', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'demo',
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 'hot',
      }),
    })
    expect(res.status).toBe(400)
    const body = (await res.json()) as { error: Record<string, unknown> }
    expect(body.error).toMatchObject({ param: 'temperature', code: '400' })
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  })

  it('malformed JSON → 400, oversized body → 413, unknown route → 404, all in the envelope', async () => {
    const post = (body: string) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body,
      })
    const malformed = await post('{"model": "demo", "messages": [')
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(
      /not valid JSON/,
    )
    const huge = await post(
      JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x'.repeat(17 * 1024 * 1024) }] }),
    )
    expect(huge.status).toBe(413)
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('413')
    const missing = await fetch(`${gateway.url}/v1/nope`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    })
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('404')
  })

  it('an exception frame before any content is an HTTP error with its status, not a 200', async () => {
    fake.script({
      type: 'stream',
      exceptionAfter: 1, // messageStart, then the exception: no content was streamed yet
      exception: {
        type: 'throttlingException',
        message: 'Too many requests, please wait before trying again.',
      },
    })
    const error = await client.chat.completions
      .create({ model: 'bedrock-claude-v3-haiku', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as APIError).status).toBe(429)
  })
})

describe('timeouts', () => {
  it('a non-streaming call over `timeout` → 408 litellm.Timeout', async () => {
    fake.script({ type: 'default', delayMs: 2500 })
    const started = Date.now()
    const error = await client.chat.completions
      .create({ model: 'impatient', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect((error as APIError).status).toBe(408)
    expect((error as APIError).message).toContain('litellm.Timeout')
    expect(Date.now() - started).toBeLessThan(2400)
  })

  it('a stream whose first chunk takes longer than `stream_timeout` → 408 before any byte', async () => {
    fake.script({ type: 'stream', delayMs: 2500 })
    const error = await client.chat.completions
      .create({ model: 'impatient', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e)
    expect((error as APIError).status).toBe(408)
  })

  it('a started stream is bounded by the gap between chunks, not by its total length', async () => {
    // 8 chunks 400 ms apart = 3.2 s in total, longer than timeout: 1, but never 1 s without progress.
    fake.script({
      type: 'stream',
      reply: { text: 'one two three four five six seven' },
      eventGapMs: 400,
      split: false,
    })
    const stream = await client.chat.completions.create({
      model: 'impatient',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('one two three four five six seven')
  })

  it('a stream that stalls mid-way ends with a 408 error event', async () => {
    fake.script({ type: 'stream', hangAfter: 3 })
    const stream = await client.chat.completions.create({
      model: 'impatient',
      messages: [{ role: 'user', content: 'a longer prompt so there is text' }],
      stream: true,
    })
    const error = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e)
    expect(String((error as Error).message)).toContain('litellm.Timeout')
  })
})
