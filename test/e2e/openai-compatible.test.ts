import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type FakeOpenAI, fakeEmbedding, startFakeOpenAI } from '../fakes/openai-upstream'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * The real Node server in front of two fake OpenAI-compatible servers (an "OpenAI" that checks its
 * key, a keyless "vLLM") and the fake Bedrock runtime, driven by the official `openai` client.
 */
const MASTER_KEY = 'sk-e2e-openai-compatible'
const OPENAI_KEY = 'sk-upstream-OPENAI-0123456789abcdef'
let openaiFake: FakeOpenAI
let vllmFake: FakeOpenAI
let bedrock: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const CONFIG = `
model_list:
  - model_name: gpt-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: os.environ/FAKE_OPENAI_BASE
      api_key: os.environ/FAKE_OPENAI_KEY
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: gpt-flaky
    litellm_params:
      model: openai/flaky-model
      api_base: os.environ/FAKE_OPENAI_BASE
      api_key: os.environ/FAKE_OPENAI_KEY
  - model_name: llama
    litellm_params:
      model: hosted_vllm/meta-llama/Llama-3.1-8B-Instruct
      api_base: os.environ/FAKE_VLLM_BASE
  - model_name: mixed
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
    model_info:
      id: mixed-bedrock
  - model_name: mixed
    litellm_params:
      model: hosted_vllm/meta-llama/Llama-3.1-8B-Instruct
      api_base: os.environ/FAKE_VLLM_BASE
    model_info:
      id: mixed-vllm
  - model_name: bedrock-haiku
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: embedder
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: os.environ/FAKE_OPENAI_BASE
      api_key: os.environ/FAKE_OPENAI_KEY
  - model_name: sneaky
    litellm_params:
      model: hosted_vllm/anything
      api_base: http://169.254.169.254/latest
litellm_settings:
  fallbacks: [{"gpt-flaky": ["bedrock-haiku"]}]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  proxy_batch_write_at: 1
`

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

interface SpendRow {
  request_id: string
  spend: number
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  model_group: string
  model_id: string
  api_base: string
  metadata: Record<string, unknown> | string | null
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The spend-log row of one request, once the batch writer has flushed it. */
async function spendRow(requestId: string): Promise<SpendRow | undefined> {
  const deadline = Date.now() + 8000
  for (;;) {
    const res = await fetch(`${gateway.url}/spend/logs?summarize=false`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    })
    const rows = (await res.json()) as SpendRow[]
    const row = rows.find((r) => r.request_id === requestId)
    if (row || Date.now() > deadline) return row
    await sleep(150)
  }
}

beforeAll(async () => {
  openaiFake = await startFakeOpenAI({ apiKey: OPENAI_KEY })
  vllmFake = await startFakeOpenAI({ reportedModel: (m) => m })
  bedrock = await startFakeBedrock()
  gateway = await startGateway(['--config', writeConfig(CONFIG)], {
    LITELLM_MASTER_KEY: MASTER_KEY,
    FAKE_OPENAI_BASE: openaiFake.url,
    FAKE_OPENAI_KEY: OPENAI_KEY,
    FAKE_VLLM_BASE: vllmFake.url,
    FAKE_AWS_KEY: bedrock.credentials.accessKeyId,
    FAKE_AWS_SECRET: bedrock.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
  })
  client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await openaiFake?.close()
  await vllmFake?.close()
  await bedrock?.close()
})

beforeEach(() => {
  openaiFake.reset()
  vllmFake.reset()
  bedrock.reset()
})

describe('openai/ deployments', () => {
  it('answers a call with the upstream answer, its model, headers and cost', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-mini', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 50 })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('You said: Hello there')
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.model).toBe('gpt-4o-mini-fake-0001')
    expect(data.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 })
    expect(response.headers.get('x-litellm-model-api-base')).toBe(openaiFake.url)
    expect(response.headers.get('x-litellm-model-group')).toBe('gpt-mini')
    // 2 × 1e-6 + 4 × 2e-6
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(1e-5, 12)

    expect(openaiFake.requests).toHaveLength(1)
    const upstream = openaiFake.requests[0]!
    expect(upstream.path).toBe('/v1/chat/completions')
    expect(upstream.authorization).toBe(`Bearer ${OPENAI_KEY}`)
    expect(upstream.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 50,
    })
    // The gateway's own key never travels upstream.
    expect(upstream.rawBody).not.toContain(MASTER_KEY)
  })

  it('streams, asking the upstream for usage; the client gets usage only when it asked', async () => {
    const read = async (includeUsage: boolean) => {
      const stream = await client.chat.completions.create({
        model: 'gpt-mini',
        messages: [{ role: 'user', content: 'Stream me a reply please' }],
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      })
      let text = ''
      let finish: string | null = null
      let usage: OpenAI.CompletionUsage | undefined
      let id = ''
      let chunks = 0
      for await (const chunk of stream) {
        chunks++
        id = chunk.id
        text += chunk.choices[0]?.delta.content ?? ''
        finish = chunk.choices[0]?.finish_reason ?? finish
        if (chunk.usage) usage = chunk.usage
      }
      return { text, finish, usage, id, chunks }
    }
    const silent = await read(false)
    expect(silent.text).toBe('You said: Stream me a reply please')
    expect(silent.finish).toBe('stop')
    expect(silent.chunks).toBeGreaterThan(3)
    expect(silent.usage).toBeUndefined()
    expect(openaiFake.requests[0]?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    })

    const counted = await read(true)
    expect(counted.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })

    // Spend uses the upstream's usage even when the client did not ask for it (no estimate).
    const row = await spendRow(silent.id)
    expect(row).toMatchObject({
      prompt_tokens: 5,
      completion_tokens: 7,
      total_tokens: 12,
      model_group: 'gpt-mini',
    })
    expect(row?.spend).toBeCloseTo(5e-6 + 14e-6, 12)
    expect(JSON.stringify(row?.metadata ?? {})).not.toContain('usage_estimated')
  })

  it('calls tools, streams tool-call deltas and takes tool results back', async () => {
    const first = await client.chat.completions.create({
      model: 'gpt-mini',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
    })
    const call = first.choices[0]?.message.tool_calls?.[0]
    expect(first.choices[0]?.finish_reason).toBe('tool_calls')
    if (call?.type !== 'function') throw new Error('expected a function tool call')
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(openaiFake.requests[0]?.body).toMatchObject({ tools: [weatherTool], tool_choice: 'auto' })

    const second = await client.chat.completions.create({
      model: 'gpt-mini',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '22C and sunny' },
      ],
      tools: [weatherTool],
    })
    expect(second.choices[0]?.message.content).toBe('Tool result: 22C and sunny')
    expect(openaiFake.requests[1]?.body?.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '22C and sunny' },
    ])

    const stream = await client.chat.completions.create({
      model: 'gpt-mini',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    })
    let name = ''
    let args = ''
    let id: string | undefined
    let finish: string | null = null
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(t.index).toBe(0)
        id = t.id ?? id
        name += t.function?.name ?? ''
        args += t.function?.arguments ?? ''
      }
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(id).toMatch(/^call_/)
    expect(name).toBe('get_weather')
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expect(finish).toBe('tool_calls')
  })

  it('passes an upstream 429 on with its retry-after, LiteLLM-worded, key never echoed', async () => {
    openaiFake.script({
      type: 'error',
      status: 429,
      message: `Rate limit reached for key ${OPENAI_KEY}`,
      headers: { 'retry-after': '17' },
    })
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-mini', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('17')
    const body = (await res.json()) as { error: { message: string; code: string } }
    expect(body.error.code).toBe('429')
    expect(body.error.message).toMatch(
      /^litellm\.RateLimitError: RateLimitError: OpenAIException - Rate limit reached/,
    )
    expect(body.error.message).not.toContain(OPENAI_KEY)
  })

  it('refuses api_base in the request body before any upstream call', async () => {
    const error = await client.chat.completions
      .create({
        model: 'gpt-mini',
        messages: [{ role: 'user', content: 'hi' }],
        // @ts-expect-error LiteLLM's client-side credential param, not in the OpenAI types
        api_base: 'http://attacker.example/v1',
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(
      'api_base is not allowed in request body',
    )
    expect(openaiFake.requests).toHaveLength(0)
  })
})

describe('hosted_vllm/ deployments', () => {
  it('calls a keyless server without Authorization and reports its model', async () => {
    const reply = await client.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'Hi vLLM' }],
      temperature: 0.3,
    })
    expect(reply.choices[0]?.message.content).toBe('You said: Hi vLLM')
    expect(reply.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(vllmFake.requests[0]?.authorization).toBeUndefined()
    expect(vllmFake.requests[0]?.body).toMatchObject({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      temperature: 0.3,
    })
  })

  it('refuses a deployment whose api_base is a metadata endpoint, naming the key only', async () => {
    const error = await client.chat.completions
      .create({ model: 'sneaky', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    const message = (error as InstanceType<typeof OpenAI.APIError>).message
    expect(message).toContain('api_base points at a cloud metadata endpoint')
    expect(message).not.toContain('169.254')
  })
})

describe('mixing Bedrock and OpenAI-compatible deployments', () => {
  it('serves one model group from both, each in its own protocol', async () => {
    const served = new Map<string, number>()
    for (let i = 0; i < 24; i++) {
      const { data, response } = await client.chat.completions
        .create({ model: 'mixed', messages: [{ role: 'user', content: `Question ${i}` }] })
        .withResponse()
      expect(data.choices[0]?.message.content).toBe(`You said: Question ${i}`)
      const id = response.headers.get('x-litellm-model-id') ?? ''
      served.set(id, (served.get(id) ?? 0) + 1)
    }
    expect([...served.keys()].sort()).toEqual(['mixed-bedrock', 'mixed-vllm'])
    expect(bedrock.requests.length).toBe(served.get('mixed-bedrock'))
    expect(vllmFake.requests.length).toBe(served.get('mixed-vllm'))
    expect(bedrock.requests.every((r) => r.operation === 'converse' && r.auth.ok)).toBe(true)
    expect(vllmFake.requests.every((r) => r.path === '/v1/chat/completions')).toBe(true)
  })

  it('streams from both members of the group', async () => {
    const served = new Set<string>()
    for (let i = 0; i < 16 && served.size < 2; i++) {
      const { data: stream, response } = await client.chat.completions
        .create({ model: 'mixed', messages: [{ role: 'user', content: 'Stream this' }], stream: true })
        .withResponse()
      let text = ''
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
      expect(text).toBe('You said: Stream this')
      served.add(response.headers.get('x-litellm-model-id') ?? '')
    }
    expect(served).toEqual(new Set(['mixed-bedrock', 'mixed-vllm']))
  })

  it('falls back from a rate-limited OpenAI deployment to a Bedrock group', async () => {
    openaiFake.setHandler((req) =>
      req.body?.model === 'flaky-model'
        ? { type: 'error', status: 429, message: 'Rate limit reached' }
        : undefined,
    )
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-flaky', messages: [{ role: 'user', content: 'Please answer' }] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('You said: Please answer')
    expect(response.headers.get('x-litellm-model-group')).toBe('bedrock-haiku')
    expect(openaiFake.requests.map((r) => r.body?.model)).toEqual(['flaky-model'])
    expect(bedrock.requests).toHaveLength(1)
  })
})

describe('embeddings', () => {
  it('embeds through the OpenAI-compatible provider, float upstream, base64 or float to the client', async () => {
    // The SDK asks for base64 by default and decodes it.
    const sdk = await client.embeddings.create({ model: 'embedder', input: ['alpha', 'beta gamma'] })
    expect(sdk.data.map((d) => d.embedding)).toEqual([
      fakeEmbedding('alpha', 8),
      fakeEmbedding('beta gamma', 8),
    ])
    expect(sdk.usage).toMatchObject({ prompt_tokens: 3, total_tokens: 3 })
    expect(openaiFake.requests[0]?.path).toBe('/v1/embeddings')
    expect(openaiFake.requests[0]?.authorization).toBe(`Bearer ${OPENAI_KEY}`)
    expect(openaiFake.requests[0]?.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta gamma'],
      encoding_format: 'float',
    })

    const floats = await client.embeddings.create({
      model: 'embedder',
      input: 'alpha',
      encoding_format: 'float',
    })
    expect(floats.data[0]?.embedding).toEqual(fakeEmbedding('alpha', 8))
  })
})
