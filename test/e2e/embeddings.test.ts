import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { fakeEmbedding } from '../fakes/bedrock-embeddings'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * /v1/embeddings end to end: the built Node gateway (embedded PGlite for spend), the official
 * `openai` client (which asks for base64 by default and decodes float32 itself), the fake Bedrock
 * runtime answering Titan and Cohere InvokeModel calls with vectors derived from the text.
 */
const MASTER_KEY = 'sk-e2e-embeddings-master'
let fake: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const CONFIG = `
model_list:
  - model_name: titan-v1
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v1
      aws_region_name: us-east-1
  - model_name: titan-v2
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v2:0
      aws_region_name: us-east-1
  - model_name: cohere
    litellm_params:
      model: bedrock/cohere.embed-english-v3
      aws_region_name: us-east-1
  - model_name: claude
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  proxy_batch_write_at: 1
`

interface SpendLogRow {
  request_id: string
  call_type: string
  spend: number
  prompt_tokens: number
  completion_tokens: number
  model: string
  model_group: string
  api_key: string
  status: string
}

async function api<T>(method: string, path: string, body?: unknown, key = MASTER_KEY): Promise<T> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  expect(res.status, `${method} ${path}`).toBe(200)
  return (await res.json()) as T
}

/** Polls until `check` passes (spend is written in batches every second). */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (check(value) || Date.now() > deadline) return value
    await new Promise((r) => setTimeout(r, 200))
  }
}

beforeAll(async () => {
  fake = await startFakeBedrock()
  gateway = await startGateway(['--config', writeConfig(CONFIG)], {
    LITELLM_MASTER_KEY: MASTER_KEY,
    AWS_ACCESS_KEY_ID: fake.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: fake.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
  })
  client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await fake?.close()
})

beforeEach(() => fake.reset())

describe('embeddings through the openai client', () => {
  it('default (base64 on the wire, decoded by the SDK): the exact Titan vectors, one call per input', async () => {
    const inputs = ['The quick brown fox', 'jumps over', 'the lazy dog']
    const { data, response } = await client.embeddings
      .create({ model: 'titan-v1', input: inputs })
      .withResponse()
    expect(data.data.map((d) => d.index)).toEqual([0, 1, 2])
    expect(data.data.map((d) => d.embedding)).toEqual(inputs.map((t) => fakeEmbedding(t, 1536)))
    expect(data.model).toBe('amazon.titan-embed-text-v1')
    expect(data.usage).toMatchObject({ prompt_tokens: 9, total_tokens: 9 })
    expect(response.headers.get('x-litellm-model-group')).toBe('titan-v1')
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(9e-7, 15)
    expect(fake.requests.map((r) => r.operation)).toEqual(['invoke', 'invoke', 'invoke'])
    for (const r of fake.requests) expect(r.auth).toEqual({ ok: true })
  })

  it('encoding_format float returns the numbers as JSON', async () => {
    const reply = await client.embeddings.create({
      model: 'titan-v2',
      input: 'hello world',
      dimensions: 256,
      encoding_format: 'float',
    })
    expect(reply.data[0]?.embedding).toEqual(fakeEmbedding('hello world', 256, true))
    expect(fake.requests[0]?.body).toEqual({ inputText: 'hello world', dimensions: 256 })
  })

  it('Cohere: 100 texts go out as two calls of at most 96, in order', async () => {
    const inputs = Array.from({ length: 100 }, (_, i) => `document ${i}`)
    const reply = await client.embeddings.create({ model: 'cohere', input: inputs })
    expect(reply.data).toHaveLength(100)
    expect(reply.data[99]?.embedding).toEqual(fakeEmbedding('search_document:document 99', 1024))
    expect(fake.requests.map((r) => (r.body as { texts: string[] }).texts.length).sort()).toEqual([4, 96])
    expect(reply.usage.prompt_tokens).toBe(200)
  })

  it('records aembedding spend for a virtual key, visible in /spend/logs and /key/info', async () => {
    const { key } = await api<{ key: string }>('POST', '/key/generate', { models: ['titan-v1'] })
    const keyed = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    const { response } = await keyed.embeddings
      .create({ model: 'titan-v1', input: 'one two three four' })
      .withResponse()
    const callId = response.headers.get('x-litellm-call-id')
    const rows = await until(
      () => api<SpendLogRow[]>('GET', `/spend/logs?summarize=false&request_id=${callId}`),
      (r) => r.length > 0,
    )
    expect(rows[0]).toMatchObject({
      call_type: 'aembedding',
      prompt_tokens: 4,
      completion_tokens: 0,
      model: 'amazon.titan-embed-text-v1',
      model_group: 'titan-v1',
      status: 'success',
    })
    expect(rows[0]?.spend).toBeCloseTo(4e-7, 15)
    const info = await until(
      () => api<{ info: { spend: number } }>('GET', `/key/info?key=${key}`),
      (r) => r.info.spend > 0,
    )
    expect(info.info.spend).toBeCloseTo(4e-7, 15)
    // The key may not use the other groups.
    await expect(keyed.embeddings.create({ model: 'cohere', input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    )
  })

  it('a chat model or bad input is a BadRequestError', async () => {
    await expect(client.embeddings.create({ model: 'claude', input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    )
    await expect(client.embeddings.create({ model: 'titan-v1', input: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    )
    expect(fake.requests).toHaveLength(0)
  })
})
