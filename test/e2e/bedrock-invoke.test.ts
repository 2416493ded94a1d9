import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * `bedrock/invoke/anthropic…` end to end: the built Node gateway, driven by the official `openai`
 * client, in front of the fake Bedrock runtime answering InvokeModel(WithResponseStream) for Claude
 * (SigV4 verified, `chunk` frames with base64 Anthropic events, split at awkward byte boundaries).
 */
const MASTER_KEY = 'sk-e2e-invoke-master'
let fake: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const CONFIG = `
model_list:
  - model_name: claude-invoke
    litellm_params:
      model: bedrock/invoke/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: claude-converse
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
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

describe('chat through Bedrock InvokeModel (Anthropic Messages)', () => {
  it('answers a non-streaming call from /invoke, with usage and headers', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'claude-invoke',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello there' },
        ],
      })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('You said: Hello there')
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.model).toBe('anthropic.claude-3-haiku-20240307-v1:0')
    expect(data.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 })
    expect(response.headers.get('x-litellm-model-group')).toBe('claude-invoke')
    // Claude 3 Haiku: $0.25 / $1.25 per million tokens.
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(4 * 2.5e-7 + 4 * 1.25e-6, 12)
    const [upstream] = fake.requests
    expect(upstream?.auth).toEqual({ ok: true })
    expect(upstream?.operation).toBe('invoke')
    expect(upstream?.rawPath).toBe('/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke')
    expect(upstream?.body).toMatchObject({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 4096,
      system: [{ type: 'text', text: 'Be brief.' }],
    })
  })

  it('streams from /invoke-with-response-stream with a final usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-invoke',
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
    expect(fake.requests[0]?.operation).toBe('invoke-with-response-stream')
  })

  it('calls tools and takes tool results back, non-streaming and streaming', async () => {
    const first = await client.chat.completions.create({
      model: 'claude-invoke',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
    })
    const call = first.choices[0]?.message.tool_calls?.[0]
    expect(first.choices[0]?.finish_reason).toBe('tool_calls')
    if (call?.type !== 'function') throw new Error('expected a function tool call')
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(fake.requests[0]?.body).toMatchObject({
      tools: [{ name: 'get_weather', input_schema: weatherTool.function.parameters }],
      tool_choice: { type: 'auto' },
    })

    const second = await client.chat.completions.create({
      model: 'claude-invoke',
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
          content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '22C and sunny' }] },
      ],
    })

    const stream = await client.chat.completions.create({
      model: 'claude-invoke',
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

  it('keeps the plain bedrock/<id> deployment on Converse', async () => {
    const reply = await client.chat.completions.create({
      model: 'claude-converse',
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(reply.choices[0]?.message.content).toBe('You said: Hi')
    expect(fake.requests[0]?.operation).toBe('converse')
  })
})

describe('Invoke errors reach the SDK typed', () => {
  it('a throttle before the stream is a RateLimitError (429)', async () => {
    fake.script({ type: 'error', errorType: 'ThrottlingException' })
    const error = await client.chat.completions
      .create({ model: 'claude-invoke', messages: [{ role: 'user', content: 'x' }], stream: true })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
  })

  it('an exception frame mid-stream makes the SDK throw after the content so far', async () => {
    fake.script({
      type: 'stream',
      exceptionAfter: 4,
      exception: { type: 'modelStreamErrorException', message: 'The model stopped.' },
    })
    const stream = await client.chat.completions.create({
      model: 'claude-invoke',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    })
    let text = ''
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(text).toBe('You said:')
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(String((error as Error).message)).toMatch(/The model stopped/)
  })
})
