import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * Retries, cooldowns and fallbacks through the real server and the official client, against a
 * Bedrock fake that serves two regions of one model group (and whose failures are scripted per
 * region or per model).
 */
const MASTER_KEY = 'sk-reliability-master'
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0'
const SONNET = 'anthropic.claude-3-sonnet-20240229-v1:0'
const LLAMA = 'meta.llama3-8b-instruct-v1:0'
let fake: FakeBedrock
let gateway: GatewayProcess
let client: OpenAI

const config = (key: string, secret: string) => `
model_list:
  - model_name: claude
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-west-2, aws_access_key_id: ${key}, aws_secret_access_key: ${secret}, rpm: 100 }
    model_info: { id: claude-west }
  - model_name: claude
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-east-1, aws_access_key_id: ${key}, aws_secret_access_key: ${secret}, rpm: 100 }
    model_info: { id: claude-east }
  - model_name: claude-stream
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-west-2, aws_access_key_id: ${key}, aws_secret_access_key: ${secret} }
  - model_name: claude-stream
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-east-1, aws_access_key_id: ${key}, aws_secret_access_key: ${secret} }
  - model_name: slow
    litellm_params: { model: bedrock/${SONNET}, aws_region_name: eu-west-1, aws_access_key_id: ${key}, aws_secret_access_key: ${secret}, timeout: 1 }
  - model_name: backup
    litellm_params: { model: bedrock/${LLAMA}, aws_region_name: us-west-2, aws_access_key_id: ${key}, aws_secret_access_key: ${secret} }
router_settings:
  num_retries: 1
  cooldown_time: 30
  fallbacks: [{"slow": ["backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`

beforeAll(async () => {
  fake = await startFakeBedrock({ anyRegion: true })
  gateway = await startGateway(
    ['--config', writeConfig(config(fake.credentials.accessKeyId, fake.credentials.secretAccessKey))],
    { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url },
  )
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await fake?.close()
})

beforeEach(() => fake.reset())

const ask = (model: string) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello' }] }).withResponse()

describe('retries, cooldowns and fallbacks (real server, openai client)', () => {
  it('a stream whose first frame is an exception is retried on the other region; the client sees a clean stream', async () => {
    fake.script({
      type: 'stream',
      exceptionAfter: 0,
      exception: { type: 'throttlingException', message: 'Too many requests, please wait.' },
    })
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-stream', messages: [{ role: 'user', content: 'Hello' }], stream: true })
      .withResponse()
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('You said: Hello')
    expect(response.headers.get('x-litellm-attempted-retries')).toBe('1')
    const regions = fake.requests.map((r) => r.region)
    expect(regions).toHaveLength(2)
    expect(new Set(regions)).toEqual(new Set(['us-west-2', 'us-east-1']))
  })

  it('a throttling region is cooled down: after its first 429 every call goes to the other region', async () => {
    fake.setHandler((req) =>
      req.region === 'us-east-1' ? { type: 'error', errorType: 'ThrottlingException' } : undefined,
    )
    const served: string[] = []
    for (let i = 0; i < 20; i++) {
      const { data, response } = await ask('claude')
      expect(data.choices[0]?.message.content).toBe('You said: Hello')
      served.push(response.headers.get('x-litellm-model-id') ?? '')
    }
    expect(served.every((id) => id === 'claude-west')).toBe(true)
    // At most one call ever reached the throttling region: its 429 cooled it down for 30 s.
    expect(fake.requests.filter((r) => r.region === 'us-east-1').length).toBeLessThanOrEqual(1)
    expect(fake.requests.filter((r) => r.region === 'us-west-2').length).toBe(20)
  })

  it('a deployment that times out is retried, then the call falls back to the next group', async () => {
    fake.setHandler((req) => (req.modelId === SONNET ? { type: 'hang' } : undefined))
    const { data, response } = await ask('slow')
    expect(data.model).toBe(LLAMA)
    expect(response.headers.get('x-litellm-model-group')).toBe('backup')
    expect(response.headers.get('x-litellm-attempted-fallbacks')).toBe('1')
    // timeout: 1 with num_retries: 1 → two attempts on the hanging deployment, then the fallback.
    expect(fake.requests.filter((r) => r.modelId === SONNET)).toHaveLength(2)
    expect(fake.requests.filter((r) => r.modelId === LLAMA)).toHaveLength(1)
  })

  it('nothing is retried once the first byte has been streamed: the error arrives in-band', async () => {
    fake.setHandler(() => ({
      type: 'stream',
      exceptionAfter: 3,
      exception: { type: 'throttlingException', message: 'Too many tokens, please wait.' },
    }))
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'a fairly long prompt to stream back' }],
      stream: true,
    })
    let text = ''
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(text.length).toBeGreaterThan(0)
    expect(fake.requests).toHaveLength(1)
  })

  it('an error that survives retries and fallbacks names the group and the fallbacks, with code = status', async () => {
    fake.setHandler(() => ({
      type: 'error',
      errorType: 'ServiceUnavailableException',
      status: 503,
      message: 'down',
    }))
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'backup', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { message: string; code: string; type: unknown } }
    expect(body.error.code).toBe('503')
    expect(body.error.type).toBeNull()
    // LiteLLM's wording: backup has no fallback entry of its own, so the "No fallback model group
    // found" note is appended, then the group and (no) fallbacks, then that same error as the fallback's.
    expect(body.error.message).toMatch(
      /^(litellm\.ServiceUnavailableError: BedrockException - down)No fallback model group found for original model_group=backup\. Fallbacks=\[\{'slow': \['backup'\]\}\]\nReceived Model Group=backup\nAvailable Model Group Fallbacks=None\nError doing the fallback: \1No fallback model group found/,
    )
    // 503 is transient: num_retries 1 retried it once on the group's only deployment.
    expect(res.headers.get('x-litellm-attempted-retries')).toBe('1')
    expect(res.headers.get('x-litellm-model-group')).toBe('backup')
  })
})
