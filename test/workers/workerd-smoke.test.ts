import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { ensureWorkerBundle, WORKER_BUNDLE } from './bundle'

/**
 * The Workers bundle (`dist/worker.mjs`, what `wrangler deploy` ships) running inside workerd via
 * Miniflare, without `nodejs_compat`: proves the core is web-standard. Bedrock calls go over real
 * HTTP from workerd to the local fake, which verifies SigV4 and streams real event-stream frames.
 */
const MASTER_KEY = 'sk-test-master'
const BEDROCK_TEXT = 'Hello from the fake Bedrock runtime inside workerd'

interface ChatCompletion {
  object: string
  choices: { index: number; message: { role: string; content: string | null }; finish_reason: string }[]
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

interface ChatCompletionChunk {
  object: string
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[]
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string }
}

interface ModelList {
  object: string
  data: { id: string; object: string }[]
}

let fake: FakeBedrock
let mf: Miniflare

function proxyConfig(bedrock: FakeBedrock): string {
  return `
model_list:
  - model_name: demo
    litellm_params:
      model: mock/demo
      mock_response: "hi from workerd"
  - model_name: bedrock-claude-v3-haiku
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: ${bedrock.credentials.accessKeyId}
      aws_secret_access_key: "${bedrock.credentials.secretAccessKey}"
      aws_bedrock_runtime_endpoint: ${bedrock.url}
`
}

function chat(body: Record<string, unknown>, key = MASTER_KEY) {
  return mf.dispatchFetch('http://localhost/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

const hello = [{ role: 'user', content: 'Say hello' }]

describe('worker bundle in workerd (no nodejs_compat)', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    ensureWorkerBundle()
    fake = await startFakeBedrock()
    mf = new Miniflare({
      modules: true,
      scriptPath: WORKER_BUNDLE,
      compatibilityDate: '2026-04-01',
      // Same flags as wrangler.toml: request.signal fires on client disconnect only with this one.
      compatibilityFlags: ['enable_request_signal'],
      bindings: { LITELLM_MASTER_KEY: MASTER_KEY, PROXY_CONFIG: proxyConfig(fake), LITELLM_LOG: 'INFO' },
    })
    await mf.ready
  }, 60_000)

  afterAll(async () => {
    await mf?.dispose()
    await fake?.close()
  }, 60_000)

  beforeEach(() => fake.reset())

  it('answers a mock chat completion', async () => {
    const res = await chat({ model: 'demo', messages: hello })
    const body = (await res.json()) as ChatCompletion
    expect(res.status).toBe(200)
    expect(res.headers.get('x-litellm-model-id')).toBeTruthy()
    expect(res.headers.get('x-litellm-model-group')).toBe('demo')
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'hi from workerd' })
  })

  it('calls Bedrock Converse with a valid SigV4 signature', async () => {
    fake.script({ type: 'reply', text: BEDROCK_TEXT })
    const res = await chat({ model: 'bedrock-claude-v3-haiku', messages: hello })
    const body = (await res.json()) as ChatCompletion
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.choices[0]?.message.content).toBe(BEDROCK_TEXT)
    expect(body.choices[0]?.finish_reason).toBe('stop')
    expect(body.usage?.completion_tokens).toBeGreaterThan(0)

    expect(fake.requests).toHaveLength(1)
    const [recorded] = fake.requests
    expect(recorded?.auth).toEqual({ ok: true })
    expect(recorded?.operation).toBe('converse')
    expect(recorded?.modelId).toBe('anthropic.claude-3-haiku-20240307-v1:0')
    expect(recorded?.accessKeyId).toBe(fake.credentials.accessKeyId)
    expect(recorded?.region).toBe('us-east-1')
  })

  it('streams Bedrock ConverseStream as OpenAI SSE with a usage chunk and [DONE]', async () => {
    fake.script({ type: 'reply', text: BEDROCK_TEXT })
    const res = await chat({
      model: 'bedrock-claude-v3-haiku',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)

    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice('data: '.length))
    expect(data.at(-1)).toBe('[DONE]')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)

    const chunks = data.slice(0, -1).map((json) => JSON.parse(json) as ChatCompletionChunk)
    expect(chunks.length).toBeGreaterThan(2)
    for (const chunk of chunks) expect(chunk.object).toBe('chat.completion.chunk')
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(content).toBe(BEDROCK_TEXT)
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true)

    const usage = chunks.find((c) => c.usage !== undefined)
    expect(usage?.choices).toEqual([])
    expect(usage?.usage?.completion_tokens).toBeGreaterThan(0)

    expect(fake.requests).toHaveLength(1)
    expect(fake.requests[0]?.auth).toEqual({ ok: true })
    expect(fake.requests[0]?.operation).toBe('converse-stream')
  })

  it('rejects a wrong key with 401 in the OpenAI error envelope', async () => {
    const res = await chat({ model: 'demo', messages: hello }, 'sk-wrong-key')
    const body = (await res.json()) as ErrorEnvelope
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(body).toEqual({
      error: {
        message: expect.any(String),
        type: expect.any(String),
        param: expect.toBeOneOf([null, expect.any(String)]),
        code: '401',
      },
    })
    expect(body.error.message).not.toContain('sk-wrong-key')
    expect(fake.requests).toHaveLength(0)
  })

  it('lists both model groups', async () => {
    const res = await mf.dispatchFetch('http://localhost/v1/models', {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    })
    const body = (await res.json()) as ModelList
    expect(res.status).toBe(200)
    expect(body.object).toBe('list')
    expect(body.data.map((m) => m.id).sort()).toEqual(['bedrock-claude-v3-haiku', 'demo'])
  })
})
