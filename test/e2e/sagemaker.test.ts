import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import OpenAI, { type APIError } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_TGI_REPLY, type FakeSagemaker, startFakeSagemaker } from '../fakes/sagemaker'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * SageMaker through the real Node server: the official `openai` client (and real curl for the seed
 * README example) → gateway → the fake SageMaker Runtime (SigV4 verified with @smithy/signature-v4,
 * real event-stream PayloadPart frames cut mid-line and mid-character).
 */
const execFileAsync = promisify(execFile)
const MASTER_KEY = 'sk-e2e-sagemaker'
const SEED_KEY = 'sk-seed-sagemaker'
const SEED_ENDPOINT = 'jumpstart-dft-hf-llm-yi-1-5-9b-chat-20241009-070517'
/** Seconds are billed at this rate for the `per-second` deployment. */
const PRICE_PER_SECOND = 0.01
const DELAY_MS = 400

let fake: FakeSagemaker
let gateway: GatewayProcess
let seedGateway: GatewayProcess
let client: OpenAI

const CONFIG = `
model_list:
  - model_name: sm-llama3
    litellm_params:
      model: sagemaker/jumpstart-dft-meta-textgeneration-llama-3-8b-instruct
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: sm-chat
    litellm_params:
      model: sagemaker_chat/vllm-qwen2-messages
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: sm-component
    litellm_params:
      model: sagemaker_chat/shared-endpoint
      model_id: ic-mistral-7b
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
  - model_name: per-second
    litellm_params:
      model: sagemaker/slow-tgi-endpoint
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
    model_info:
      input_cost_per_second: ${PRICE_PER_SECOND}
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
  model_group: string
  api_base: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
  fake = await startFakeSagemaker({
    endpoints: {
      [SEED_ENDPOINT]: { kind: 'tgi' },
      'jumpstart-dft-meta-textgeneration-llama-3-8b-instruct': { kind: 'tgi' },
      'vllm-qwen2-messages': { kind: 'messages' },
      'shared-endpoint': { kind: 'messages', inferenceComponents: ['ic-llama-3', 'ic-mistral-7b'] },
      'slow-tgi-endpoint': { kind: 'tgi', delayMs: DELAY_MS },
    },
    // The seed config's literal `<>` placeholders are the credentials its deployments sign with.
    credentials: [{ accessKeyId: '<>', secretAccessKey: '<>' }],
  })
  const endpointEnv = { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: fake.url }
  // One after the other: two embedded databases starting at once double the startup time.
  gateway = await startGateway(['--config', writeConfig(CONFIG)], {
    LITELLM_MASTER_KEY: MASTER_KEY,
    FAKE_AWS_KEY: fake.credentials.accessKeyId,
    FAKE_AWS_SECRET: fake.credentials.secretAccessKey,
    ...endpointEnv,
  })
  seedGateway = await startGateway(['--config', 'test/fixtures/seed-proxy_config.yaml'], {
    LITELLM_MASTER_KEY: SEED_KEY,
    ...endpointEnv,
  })
  client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await seedGateway?.stop()
  await fake?.close()
})

beforeEach(() => fake.reset())

describe('sagemaker/ (TGI text generation)', () => {
  it('answers a chat.completion, with the Llama 3 prompt signed for sagemaker in the configured region', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'sm-llama3',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Hello' },
        ],
        max_tokens: 64,
        temperature: 0,
      })
      .withResponse()
    expect(data.object).toBe('chat.completion')
    expect(data.model).toBe('jumpstart-dft-meta-textgeneration-llama-3-8b-instruct')
    expect(data.choices[0]?.message.content).toBe(DEFAULT_TGI_REPLY)
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0)
    expect(data.usage?.completion_tokens).toBeGreaterThan(0)
    expect(response.headers.get('x-litellm-model-api-base')).toBe(fake.url)
    const seen = fake.requests.at(-1)!
    expect(seen.auth).toEqual({ ok: true })
    expect(seen.region).toBe('us-west-2')
    expect(seen.rawPath).toBe('/endpoints/jumpstart-dft-meta-textgeneration-llama-3-8b-instruct/invocations')
    expect(seen.body).toEqual({
      inputs:
        '<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
      parameters: { max_new_tokens: 64, temperature: 0.01, return_full_text: false, details: true },
      stream: false,
    })
  })

  it('streams: every multi-byte character survives PayloadParts cut mid-character; usage chunk at the end', async () => {
    const stream = await client.chat.completions.create({
      model: 'sm-llama3',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let finish: string | null | undefined
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe(DEFAULT_TGI_REPLY)
    expect(finish).toBe('stop')
    expect(usage?.completion_tokens).toBeGreaterThan(0)
    expect(fake.requests.at(-1)?.operation).toBe('invocations-response-stream')
  })

  it('tools on a text-generation endpoint are a 400 naming the parameter', async () => {
    const error = (await client.chat.completions
      .create({ model: 'sm-llama3', messages: [{ role: 'user', content: 'Hi' }], tools: [weatherTool] })
      .catch((e: unknown) => e)) as APIError
    expect(error.status).toBe(400)
    expect(error.message).toContain("sagemaker does not support parameters: ['tools']")
    expect(fake.requests).toHaveLength(0)
  })

  it('a mid-stream ModelStreamError ends the stream with an error event the SDK raises', async () => {
    fake.script({
      type: 'stream-exception',
      afterParts: 20,
      exception: 'ModelStreamError',
      message: 'Model stream broke',
      errorCode: 'StreamBroken',
    })
    const stream = await client.chat.completions.create({
      model: 'sm-llama3',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    })
    let text = ''
    const error = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
      } catch (e) {
        return e as Error
      }
      return undefined
    })()
    expect(text.length).toBeGreaterThan(0)
    expect(error?.message).toContain('Model stream broke')
  })

  it('a ModelStreamError before any token is an HTTP error with its status', async () => {
    fake.script({
      type: 'stream-exception',
      afterParts: 0,
      exception: 'ModelStreamError',
      message: 'Timed out',
      errorCode: 'ModelInvocationTimeExceeded',
    })
    const error = (await client.chat.completions
      .create({ model: 'sm-llama3', messages: [{ role: 'user', content: 'Hi' }], stream: true })
      .catch((e: unknown) => e)) as APIError
    expect(error.status).toBe(408)
  })
})

describe('sagemaker_chat/ (Messages API)', () => {
  it('non-streaming tool call with usage from the container', async () => {
    const reply = await client.chat.completions.create({
      model: 'sm-chat',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
    })
    expect(reply.choices[0]?.finish_reason).toBe('tool_calls')
    const call = reply.choices[0]?.message.tool_calls?.[0]
    expect(call?.type === 'function' && call.function.name).toBe('get_weather')
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(reply.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 1, total_tokens: 7 })
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: 'vllm-qwen2-messages', tools: [weatherTool] })
  })

  it('streams text and tool-call arguments', async () => {
    const textStream = await client.chat.completions.create({
      model: 'sm-chat',
      messages: [{ role: 'user', content: 'Grüße 👋' }],
      stream: true,
    })
    let text = ''
    for await (const chunk of textStream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('You said: Grüße 👋')

    const toolStream = await client.chat.completions.create({
      model: 'sm-chat',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    })
    let name = ''
    let args = ''
    let finish: string | null | undefined
    for await (const chunk of toolStream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? ''
        args += call.function?.arguments ?? ''
      }
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(name).toBe('get_weather')
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expect(finish).toBe('tool_calls')
  })

  it('model_id is sent as the inference-component header', async () => {
    const reply = await client.chat.completions.create({
      model: 'sm-component',
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(reply.choices[0]?.message.content).toBe('You said: Hi')
    expect(fake.requests.at(-1)?.inferenceComponent).toBe('ic-mistral-7b')
    expect(fake.requests.at(-1)?.endpoint).toBe('shared-endpoint')
  })
})

describe('per-second pricing', () => {
  it('bills the call duration: cost header on a non-streaming call, spend-log row for a stream', async () => {
    const { response, data } = await client.chat.completions
      .create({ model: 'per-second', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse()
    const cost = Number(response.headers.get('x-litellm-response-cost'))
    // At least the fake's delay, at most a few seconds of wall time.
    expect(cost).toBeGreaterThanOrEqual((DELAY_MS / 1000) * PRICE_PER_SECOND)
    expect(cost).toBeLessThan(5 * PRICE_PER_SECOND)
    expect((await spendRow(data.id))?.spend).toBeCloseTo(cost, 12)

    const stream = await client.chat.completions.create({
      model: 'per-second',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    })
    let id = ''
    for await (const chunk of stream) id = chunk.id
    const row = await spendRow(id)
    expect(row?.model_group).toBe('per-second')
    expect(row?.spend).toBeGreaterThanOrEqual((DELAY_MS / 1000) * PRICE_PER_SECOND)
  })
})

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await execFileAsync('curl', ['-sS', '-i', ...args], { maxBuffer: 10 * 1024 * 1024 })
  const split = stdout.indexOf('\r\n\r\n')
  return {
    status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(stdout.slice(0, split))?.[1]),
    headers: stdout.slice(0, split).toLowerCase(),
    body: stdout.slice(split + 4),
  }
}

describe('seed README: "Simple call LLM hosted on Sagemaker"', () => {
  it('the curl example, body verbatim, on the seed proxy_config.yaml, returns a chat.completion', async () => {
    const res = await curl([
      `${seedGateway.url}/v1/chat/completions`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${SEED_KEY}`,
      '-d',
      `{
     "model": "sagemaker-Yi-1.5-9b",
     "messages": [
          {
               "role": "user",
                "content": "Hello"
          }
     ]
}`,
    ])
    expect(res.status).toBe(200)
    expect(res.headers).toContain('content-type: application/json')
    expect(res.headers).toMatch(/x-litellm-model-id: [0-9a-f]{64}/)
    const body = JSON.parse(res.body) as OpenAI.ChatCompletion
    expect(body.object).toBe('chat.completion')
    expect(body.id).toMatch(/^chatcmpl-/)
    expect(body.model).toBe(SEED_ENDPOINT)
    expect(body.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'stop',
      message: { role: 'assistant', content: DEFAULT_TGI_REPLY },
    })
    expect(body.usage?.total_tokens).toBe(
      (body.usage?.prompt_tokens ?? 0) + (body.usage?.completion_tokens ?? 0),
    )
    expect(body.usage?.prompt_tokens).toBeGreaterThan(0)
    const seen = fake.requests.at(-1)!
    expect(seen.auth).toEqual({ ok: true })
    expect(seen.accessKeyId).toBe('<>')
    expect(seen.region).toBe('us-west-2')
    expect(seen.endpoint).toBe(SEED_ENDPOINT)
    // Yi 1.5 chat speaks ChatML.
    expect((seen.body as { inputs: string }).inputs).toBe(
      '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
    )
  })
})
