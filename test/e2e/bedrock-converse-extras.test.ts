import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, type StreamItem, startFakeBedrock } from '../fakes/bedrock'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * Converse extras over real HTTP: the built Node gateway, driven by the official `openai` client, in
 * front of the fake Bedrock runtime (SigV4 verified, real event-stream frames split awkwardly).
 * Request bodies are checked as Bedrock received them; answers are scripted where the fake's
 * default reply cannot show the feature.
 */
const MASTER_KEY = 'sk-e2e-converse-extras'
const SONNET_37 = 'anthropic.claude-3-7-sonnet-20250219-v1:0'
const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6'
let fake: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const credentials = `
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET`

const CONFIG = `
model_list:
  - model_name: sonnet
    litellm_params:
      model: bedrock/us.${SONNET_37}${credentials}
  - model_name: profile
    litellm_params:
      model: bedrock/converse/${PROFILE_ARN}${credentials}
    model_info:
      base_model: bedrock/us.${SONNET_37}
  - model_name: guarded
    litellm_params:
      model: bedrock/us.${SONNET_37}${credentials}
      guardrailConfig:
        guardrailIdentifier: gr-config
        guardrailVersion: "2"
        trace: enabled
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`

type Body = Record<string, unknown>

/** A non-streaming call with members the SDK does not type (what `extra_body` sends from Python). */
const create = (body: Body) =>
  client.chat.completions
    .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
    .withResponse()

const createStream = (body: Body) =>
  client.chat.completions.create({
    ...body,
    stream: true,
  } as unknown as OpenAI.ChatCompletionCreateParamsStreaming)

const lastBody = (): Body => fake.requests.at(-1)?.body as Body

const usage = { inputTokens: 12, outputTokens: 4, totalTokens: 16 }

const answer = (content: unknown[], stopReason = 'end_turn', extra: Body = {}) => ({
  type: 'json' as const,
  body: {
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage,
    metrics: { latencyMs: 5 },
    ...extra,
  },
})

const ev = (event: string, payload: Record<string, unknown>): StreamItem => ({ event, payload })

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

describe('cross-region profiles and application inference profiles', () => {
  it('calls the full profile id and prices it as its base model', async () => {
    const { data, response } = await create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'Hello' }],
    })
    expect(data.choices[0]?.message.content).toBe('You said: Hello')
    expect(fake.requests[0]?.rawPath).toBe(`/model/us.${SONNET_37.replace(':', '%3A')}/converse`)
    const prompt = data.usage?.prompt_tokens ?? 0
    const completion = data.usage?.completion_tokens ?? 0
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(
      prompt * 3e-6 + completion * 1.5e-5,
      12,
    )
  })

  it('calls an application inference profile ARN and prices it by model_info.base_model', async () => {
    const { response } = await create({ model: 'profile', messages: [{ role: 'user', content: 'Hello' }] })
    expect(fake.requests[0]?.modelId).toBe(PROFILE_ARN)
    expect(fake.requests[0]?.rawPath).toBe(`/model/${encodeURIComponent(PROFILE_ARN)}/converse`)
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeGreaterThan(0)
  })
})

describe('guardrails', () => {
  it('passes guardrailConfig from litellm_params and returns content_filter with the trace', async () => {
    const trace = { guardrail: { inputAssessment: { 'gr-config': { contentPolicy: { filters: [] } } } } }
    fake.script(answer([{ text: 'Sorry, I cannot answer that.' }], 'guardrail_intervened', { trace }))
    const { data } = await create({
      model: 'guarded',
      messages: [{ role: 'user', content: 'something bad' }],
    })
    expect(lastBody().guardrailConfig).toEqual({
      guardrailIdentifier: 'gr-config',
      guardrailVersion: '2',
      trace: 'enabled',
    })
    expect(data.choices[0]?.finish_reason).toBe('content_filter')
    expect((data as unknown as Body).trace).toEqual(trace)
  })

  it('sends the request’s streamProcessingMode on ConverseStream', async () => {
    const guardrailConfig = {
      guardrailIdentifier: 'gr-req',
      guardrailVersion: '1',
      streamProcessingMode: 'async',
    }
    const stream = await createStream({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'Hi' }],
      guardrailConfig,
    })
    for await (const _ of stream) {
      // drain
    }
    expect(fake.requests[0]?.operation).toBe('converse-stream')
    expect(lastBody().guardrailConfig).toEqual(guardrailConfig)
  })
})

describe('response_format', () => {
  const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
  const responseFormat = { type: 'json_schema', json_schema: { name: 'place', schema } }

  it('forces json_tool_call and answers with the JSON as content (non-streaming)', async () => {
    const { data } = await create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'What is the weather like, as JSON?' }],
      response_format: responseFormat,
    })
    expect(lastBody().toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'json_tool_call', inputSchema: { json: schema } } }],
      toolChoice: { tool: { name: 'json_tool_call' } },
    })
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.choices[0]?.message.tool_calls).toBeUndefined()
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris' })
  })

  it('streams the JSON as content deltas', async () => {
    const stream = await createStream({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'The weather, as JSON' }],
      response_format: responseFormat,
    })
    let content = ''
    let deltas = 0
    let finish: string | null = null
    let toolCalls = 0
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      if (choice?.delta.content) {
        content += choice.delta.content
        deltas++
      }
      toolCalls += choice?.delta.tool_calls?.length ?? 0
      finish = choice?.finish_reason ?? finish
    }
    expect(JSON.parse(content)).toEqual({ city: 'Paris' })
    expect(deltas).toBeGreaterThan(1)
    expect(toolCalls).toBe(0)
    expect(finish).toBe('stop')
  })
})

describe('prompt caching', () => {
  it('sends cache points and bills a cache hit below the same prompt uncached', async () => {
    const messages = [
      {
        role: 'system',
        content: [{ type: 'text', text: 'A very long system prompt', cache_control: { type: 'ephemeral' } }],
      },
      { role: 'user', content: 'Question' },
    ]
    fake.script(
      answer([{ text: 'A' }], 'end_turn', {
        usage: { inputTokens: 1000, outputTokens: 10, totalTokens: 1010 },
      }),
    )
    const uncached = await create({ model: 'sonnet', messages })
    expect(lastBody().system).toEqual([
      { text: 'A very long system prompt' },
      { cachePoint: { type: 'default' } },
    ])

    fake.script(
      answer([{ text: 'A' }], 'end_turn', {
        usage: {
          inputTokens: 100,
          outputTokens: 10,
          totalTokens: 1010,
          cacheReadInputTokens: 900,
          cacheWriteInputTokens: 0,
        },
      }),
    )
    const cached = await create({ model: 'sonnet', messages })
    expect(cached.data.usage).toMatchObject({
      prompt_tokens: 1000,
      prompt_tokens_details: { cached_tokens: 900 },
      cache_read_input_tokens: 900,
    })
    const cost = (r: typeof cached) => Number(r.response.headers.get('x-litellm-response-cost'))
    expect(cost(uncached)).toBeCloseTo(1000 * 3e-6 + 10 * 1.5e-5, 12)
    expect(cost(cached)).toBeCloseTo(100 * 3e-6 + 900 * 3e-7 + 10 * 1.5e-5, 12)
    expect(cost(cached)).toBeLessThan(cost(uncached))
  })
})

describe('reasoning', () => {
  it('maps reasoning_effort to a thinking budget and returns reasoning_content with thinking_blocks', async () => {
    fake.script(
      answer([
        { reasoningContent: { reasoningText: { text: 'Thinking it over.', signature: 'sig-xyz' } } },
        { text: 'Forty-two.' },
      ]),
    )
    const { data } = await create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'The answer?' }],
      reasoning_effort: 'medium',
    })
    expect(lastBody().additionalModelRequestFields).toEqual({
      thinking: { type: 'enabled', budget_tokens: 2048 },
    })
    expect(lastBody().inferenceConfig).toEqual({ maxTokens: 2048 + 4096 })
    const message = data.choices[0]?.message as unknown as Body
    expect(message.content).toBe('Forty-two.')
    expect(message.reasoning_content).toBe('Thinking it over.')
    expect(message.thinking_blocks).toEqual([
      { type: 'thinking', thinking: 'Thinking it over.', signature: 'sig-xyz' },
    ])
  })

  it('streams reasoning deltas as delta.reasoning_content and thinking_blocks', async () => {
    fake.script({
      type: 'stream',
      events: [
        ev('messageStart', { role: 'assistant' }),
        ev('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Hmm, ' } } }),
        ev('contentBlockDelta', {
          contentBlockIndex: 0,
          delta: { reasoningContent: { text: 'let me see.' } },
        }),
        ev('contentBlockDelta', {
          contentBlockIndex: 0,
          delta: { reasoningContent: { signature: 'sig-1' } },
        }),
        ev('contentBlockStop', { contentBlockIndex: 0 }),
        ev('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Done.' } }),
        ev('contentBlockStop', { contentBlockIndex: 1 }),
        ev('messageStop', { stopReason: 'end_turn' }),
        ev('metadata', { usage, metrics: { latencyMs: 3 } }),
      ],
    })
    const stream = await createStream({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'Think' }],
      thinking: { type: 'enabled', budget_tokens: 1500 },
    })
    let reasoning = ''
    let content = ''
    let signature: unknown
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as unknown as Body | undefined
      reasoning += typeof delta?.reasoning_content === 'string' ? delta.reasoning_content : ''
      content += typeof delta?.content === 'string' ? delta.content : ''
      const blocks = delta?.thinking_blocks as Array<Body> | undefined
      signature = blocks?.find((b) => b.signature)?.signature ?? signature
    }
    expect(lastBody().additionalModelRequestFields).toEqual({
      thinking: { type: 'enabled', budget_tokens: 1500 },
    })
    expect(reasoning).toBe('Hmm, let me see.')
    expect(signature).toBe('sig-1')
    expect(content).toBe('Done.')
  })

  it('answers 400 for an unknown reasoning_effort without calling Bedrock', async () => {
    const error = await create({
      model: 'profile',
      messages: [{ role: 'user', content: 'x' }],
      reasoning_effort: 'banana',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/reasoning_effort/)
    expect(fake.requests).toHaveLength(0)
  })
})
