import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { fakeEmbedding } from '../fakes/bedrock-embeddings'
import { migratedPglite, waitUntilQueue } from '../helpers/in-process-gateway'

/**
 * /v1/embeddings in process (PGlite, memory counters, the fake Bedrock): the same gate as chat
 * (auth, model access, rate limits), spend rows with call_type aembedding, LiteLLM's headers.
 */
const MASTER = 'sk-master-embeddings-1234'
const CONFIG = `
model_list:
  - model_name: titan
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v1
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: cohere
    litellm_params:
      model: bedrock/cohere.embed-english-v3
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: claude
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: demo
    litellm_params: { model: mock/x, mock_response: hi }
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let sql: Sql
let app: App
let fake: FakeBedrock
const { waitUntil, settle } = waitUntilQueue()

const post = (path: string, body: unknown, key = MASTER) =>
  app.fetch(
    new Request(`http://gw${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    { waitUntil },
  )

const newKey = async (body: Record<string, unknown>): Promise<string> => {
  const res = await post('/key/generate', body)
  expect(res.status).toBe(200)
  return ((await res.json()) as Json).key
}

async function spendRow(requestId: string) {
  await settle()
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT request_id, call_type, spend, prompt_tokens, completion_tokens, total_tokens, model, model_group, status, metadata
     FROM "LiteLLM_SpendLogs" WHERE request_id = $1`,
    [requestId],
  )
  return rows[0]
}

beforeAll(async () => {
  fake = await startFakeBedrock()
  sql = await migratedPglite()
  const env = {
    FAKE_AWS_KEY: fake.credentials.accessKeyId,
    FAKE_AWS_SECRET: fake.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
  }
  app = createApp({
    config: await parseConfig(CONFIG, env),
    env,
    masterKey: MASTER,
    logger: silentLogger,
    stores: { sql, counters: memoryCounters() },
  })
})

afterAll(async () => {
  await settle()
  await app?.close()
  await fake?.close()
})

beforeEach(() => fake.reset())

describe('POST /v1/embeddings', () => {
  it('answers OpenAI’s shape with LiteLLM’s headers, and records aembedding spend', async () => {
    const res = await post('/v1/embeddings', { model: 'titan', input: ['hello world', 'again'] })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Json
    expect(body).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: fakeEmbedding('hello world', 1536) },
        { object: 'embedding', index: 1, embedding: fakeEmbedding('again', 1536) },
      ],
      model: 'amazon.titan-embed-text-v1',
      usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
    })
    const callId = res.headers.get('x-litellm-call-id') ?? ''
    expect(callId).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-litellm-model-group')).toBe('titan')
    expect(res.headers.get('x-litellm-model-id')).toMatch(/^[0-9a-f]{64}$/)
    expect(res.headers.get('x-litellm-model-api-base')).toBe(fake.url)
    expect(Number(res.headers.get('x-litellm-overhead-duration-ms'))).toBeGreaterThanOrEqual(0)
    // Titan v1 costs $0.1 per million tokens.
    expect(Number(res.headers.get('x-litellm-response-cost'))).toBeCloseTo(3e-7, 15)
    expect(fake.requests).toHaveLength(2)

    const row = await spendRow(callId)
    expect(row).toMatchObject({
      call_type: 'aembedding',
      prompt_tokens: 3,
      completion_tokens: 0,
      total_tokens: 3,
      model: 'amazon.titan-embed-text-v1',
      model_group: 'titan',
      status: 'success',
    })
    expect(Number(row?.spend)).toBeCloseTo(3e-7, 15)
  })

  it('answers on /embeddings and the Azure-style paths, which name the model', async () => {
    for (const [path, body] of [
      ['/embeddings', { model: 'cohere', input: 'x y' }],
      ['/openai/deployments/cohere/embeddings', { input: 'x y' }],
      ['/engines/cohere/embeddings', { model: 'ignored', input: 'x y' }],
    ] as const) {
      const res = await post(path, body)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('x-litellm-model-group')).toBe('cohere')
      expect(((await res.json()) as Json).data[0].embedding).toEqual(
        fakeEmbedding('search_document:x y', 1024),
      )
    }
  })

  it('returns base64 little-endian float32 when asked', async () => {
    const res = await post('/v1/embeddings', { model: 'titan', input: 'hello', encoding_format: 'base64' })
    const body = (await res.json()) as Json
    const bytes = Buffer.from(body.data[0].embedding, 'base64')
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(
      fakeEmbedding('hello', 1536),
    )
  })

  it('applies key model access and key rate limits like chat, and reports key spend', async () => {
    const onlyCohere = await newKey({ models: ['cohere'], rpm_limit: 2 })
    const denied = await post('/v1/embeddings', { model: 'titan', input: 'x' }, onlyCohere)
    expect(denied.status).toBe(401)
    expect(((await denied.json()) as Json).error.type).toBe('key_model_access_denied')
    const first = await post('/v1/embeddings', { model: 'cohere', input: 'one two' }, onlyCohere)
    expect(first.status).toBe(200)
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(Number(first.headers.get('x-litellm-key-spend'))).toBeCloseTo(2e-7, 15)
    await first.text()
    expect((await post('/v1/embeddings', { model: 'cohere', input: 'x' }, onlyCohere)).status).toBe(200)
    const limited = await post('/v1/embeddings', { model: 'cohere', input: 'x' }, onlyCohere)
    expect(limited.status).toBe(429)
    expect(((await limited.json()) as Json).error.message).toMatch(/Rate limit exceeded for api_key/)
    expect((await post('/v1/embeddings', { model: 'cohere', input: 'x' }, 'sk-wrong')).status).toBe(401)
  })

  it.each([
    [{ model: 'demo', input: 'x' }, /mock_response is not supported for embeddings/],
    [{ model: 'claude', input: 'x' }, /not a Bedrock embedding model/],
    [{ model: 'nope', input: 'x' }, /Invalid model name passed in model=nope/],
    [{ model: 'titan', input: [] }, /input/],
    [{ model: 'titan', input: [1, 'x'] }, /input/],
    [{ model: 'titan', input: [[1, 2]] }, /token arrays are not supported/],
  ])('answers 400 for %j', async (body, message) => {
    const res = await post('/v1/embeddings', body)
    expect(res.status).toBe(400)
    expect(((await res.json()) as Json).error.message).toMatch(message)
    expect(fake.requests).toHaveLength(0)
  })

  it('passes an upstream failure through with its status and records a failed aembedding row', async () => {
    fake.script({ type: 'error', errorType: 'ThrottlingException' })
    const res = await post('/v1/embeddings', { model: 'titan', input: 'x' })
    expect(res.status).toBe(429)
    const row = await spendRow(res.headers.get('x-litellm-call-id') ?? '')
    expect(row).toMatchObject({ call_type: 'aembedding', status: 'failure', model_group: 'titan' })
  })
})

describe('partial spend', () => {
  it('records the tokens of the Titan calls that succeeded before one failed', async () => {
    // One InvokeModel per Titan input, in parallel: the bad one fails late, after the others answered.
    const step = (req: { body: unknown }) =>
      (req.body as { inputText?: string }).inputText === 'bad'
        ? {
            type: 'error' as const,
            errorType: 'ValidationException',
            message: 'Malformed input.',
            delayMs: 150,
          }
        : undefined
    fake.script(step, step, step)
    const res = await post('/v1/embeddings', { model: 'titan', input: ['one two', 'three', 'bad'] })
    expect(res.status).toBe(400)
    expect(fake.requests).toHaveLength(3)
    const row = await spendRow(res.headers.get('x-litellm-call-id') ?? '')
    // The fake counts words: 2 + 1 tokens billed, at Titan v1's $0.1 per million.
    expect(row).toMatchObject({
      status: 'failure',
      call_type: 'aembedding',
      prompt_tokens: 3,
      total_tokens: 3,
    })
    expect(Number(row?.spend)).toBeCloseTo(3e-7, 15)
  })
})

describe('retries and fallbacks, as for chat', () => {
  const AWS = 'aws_access_key_id: os.environ/FAKE_AWS_KEY, aws_secret_access_key: os.environ/FAKE_AWS_SECRET'
  const RELIABLE = `
model_list:
  - model_name: titan-pair
    litellm_params: { model: bedrock/amazon.titan-embed-text-v1, aws_region_name: us-east-1, ${AWS} }
    model_info: { id: titan-east }
  - model_name: titan-pair
    litellm_params: { model: bedrock/amazon.titan-embed-text-v1, aws_region_name: us-west-2, ${AWS} }
    model_info: { id: titan-west }
  - model_name: titan-solo
    litellm_params: { model: bedrock/amazon.titan-embed-text-v1, aws_region_name: us-east-1, ${AWS} }
    model_info: { id: titan-solo-1 }
  - model_name: cohere-backup
    litellm_params: { model: bedrock/cohere.embed-english-v3, aws_region_name: us-east-1, ${AWS} }
    model_info: { id: cohere-backup-1 }
router_settings:
  num_retries: 1
  fallbacks: [{ titan-solo: [cohere-backup] }]
`
  let reliableFake: FakeBedrock
  let reliable: App

  beforeAll(async () => {
    // Any region: the two titan-pair deployments are told apart by the region they sign for.
    reliableFake = await startFakeBedrock({ anyRegion: true })
    const env = {
      FAKE_AWS_KEY: reliableFake.credentials.accessKeyId,
      FAKE_AWS_SECRET: reliableFake.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: reliableFake.url,
    }
    reliable = createApp({
      config: await parseConfig(RELIABLE, env),
      env,
      masterKey: MASTER,
      logger: silentLogger,
      stores: { sql, counters: memoryCounters() },
      sleep: async () => undefined,
    })
  })
  afterAll(async () => {
    await settle()
    await reliable?.close()
    await reliableFake?.close()
  })
  beforeEach(() => reliableFake.reset())

  const embed = (body: unknown) =>
    reliable.fetch(
      new Request('http://gw/v1/embeddings', {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
      { waitUntil },
    )

  it('retries a throttled deployment on the other deployment of the group', async () => {
    reliableFake.script({ type: 'error', errorType: 'ThrottlingException', message: 'Too many requests.' })
    const res = await embed({ model: 'titan-pair', input: 'hello world' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-litellm-attempted-retries')).toBe('1')
    expect(res.headers.get('x-litellm-max-retries')).toBe('1')
    const [throttled, answered] = reliableFake.requests
    expect(throttled?.status).toBe(429)
    expect(answered?.status).toBe(200)
    expect(answered?.region).not.toBe(throttled?.region)
    expect(res.headers.get('x-litellm-model-id')).toBe(
      answered?.region === 'us-west-2' ? 'titan-west' : 'titan-east',
    )
    const body = (await res.json()) as Json
    expect(body.data[0].embedding).toEqual(fakeEmbedding('hello world', 1536))
  })

  it('falls back to the configured group once the group’s retries are spent', async () => {
    const throttled = {
      type: 'error' as const,
      errorType: 'ThrottlingException',
      message: 'Too many requests.',
    }
    reliableFake.script(throttled, throttled)
    const res = await embed({ model: 'titan-solo', input: ['hello world'] })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('1')
    expect(res.headers.get('x-litellm-model-group')).toBe('cohere-backup')
    expect(reliableFake.requests.map((r) => r.modelId)).toEqual([
      'amazon.titan-embed-text-v1',
      'amazon.titan-embed-text-v1',
      'cohere.embed-english-v3',
    ])
    const body = (await res.json()) as Json
    expect(body.model).toBe('cohere.embed-english-v3')
    expect(body.data).toHaveLength(1)
  })

  it('answers the original error with LiteLLM’s fallback note when the fallback fails too', async () => {
    const throttled = {
      type: 'error' as const,
      errorType: 'ThrottlingException',
      message: 'Too many requests.',
    }
    reliableFake.script(throttled, throttled, throttled, throttled)
    const res = await embed({ model: 'titan-solo', input: 'x' })
    expect(res.status).toBe(429)
    const message = ((await res.json()) as Json).error.message as string
    expect(message).toMatch(/^litellm\.RateLimitError: BedrockException - Too many requests\./)
    expect(message).toContain('Received Model Group=titan-solo')
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('1')
  })
})
