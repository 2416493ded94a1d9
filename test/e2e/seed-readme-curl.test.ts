import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * The seed README's curl commands, sent with real curl to the real server, against a config in the
 * seed's style (literal keys in litellm_params, two regions, rpm in litellm_params, LiteLLM
 * fallbacks). Only the AWS endpoint is redirected to the fake, with the standard AWS variable.
 */
const execFileAsync = promisify(execFile)
const MASTER_KEY = 'sk-seed-master'
let fake: FakeBedrock
let gateway: GatewayProcess

const seedConfig = (key: string, secret: string) => `
model_list:
  - model_name: bedrock-claude-v3-haiku
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: "us-west-2"
      aws_access_key_id: ${key}
      aws_secret_access_key: ${secret}
  - model_name: bedrock-claude-v3-sonnet
    litellm_params:
        model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
        aws_region_name: "us-west-2"
        aws_access_key_id: "${key}"
        aws_secret_access_key: "${secret}"
        rpm: 30
  - model_name: bedrock-claude-v3-sonnet
    litellm_params:
        model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
        aws_region_name: "us-east-1"
        aws_access_key_id: "${key}"
        aws_secret_access_key: "${secret}"
        rpm: 30
litellm_settings:
  fallbacks: [{"bedrock-claude-v3-sonnet": ["bedrock-claude-v3-haiku"]}]
general_settings:
  master_key: ${MASTER_KEY}
`

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await execFileAsync('curl', ['-sS', '-i', ...args], { maxBuffer: 10 * 1024 * 1024 })
  const split = stdout.indexOf('\r\n\r\n')
  const head = stdout.slice(0, split)
  return {
    status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1]),
    headers: head.toLowerCase(),
    body: stdout.slice(split + 4),
  }
}

beforeAll(async () => {
  fake = await startFakeBedrock({ anyRegion: true })
  gateway = await startGateway(
    ['--config', writeConfig(seedConfig(fake.credentials.accessKeyId, fake.credentials.secretAccessKey))],
    {
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
    },
  )
})

afterAll(async () => {
  await gateway?.stop()
  await fake?.close()
})

describe('seed README curl examples', () => {
  it('"Simple call with streaming" (sent with "stream": True) streams SSE chunks and [DONE]', async () => {
    const res = await curl([
      `${gateway.url}/v1/chat/completions`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${MASTER_KEY}`,
      '-d',
      `{
        "model": "bedrock-claude-v3-haiku",
        "messages": [
            {
                "role": "user",
                "content": "Hello"
            }
        ],
        "stream": True
}`,
    ])
    expect(res.status).toBe(200)
    expect(res.headers).toContain('content-type: text/event-stream')
    const events = res.body.split('\n\n').filter((e) => e.startsWith('data: '))
    expect(events.at(-1)).toBe('data: [DONE]')
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
      .map((c) => c.choices[0]?.delta.content ?? '')
      .join('')
    expect(text).toBe('You said: Hello')
    expect(fake.requests.at(-1)?.region).toBe('us-west-2')
  })

  it('"simple call test of balancing" shows x-litellm-model-id, and both regions get traffic', async () => {
    const ids = new Set<string>()
    const before = fake.requests.length
    for (let i = 0; i < 24; i++) {
      const res = await curl([
        `${gateway.url}/v1/chat/completions`,
        '-H',
        'Content-Type: application/json',
        '-H',
        `Authorization: Bearer ${MASTER_KEY}`,
        '-d',
        '{"model": "bedrock-claude-v3-sonnet", "messages": [{"role": "user", "content": "Hello"}]}',
      ])
      expect(res.status).toBe(200)
      const id = /x-litellm-model-id: ([0-9a-f]{64})/.exec(res.headers)?.[1]
      expect(id).toBeDefined()
      ids.add(id!)
      expect(res.headers).toMatch(/x-litellm-call-id: [0-9a-f-]{36}/)
    }
    expect(ids.size).toBe(2)
    const regions = new Set(fake.requests.slice(before).map((r) => r.region))
    expect(regions).toEqual(new Set(['us-west-2', 'us-east-1']))
  })

  it('"Simple call with OpenAI SDK" base_url without /v1 works too (/chat/completions)', async () => {
    const res = await curl([
      '-X',
      'POST',
      `${gateway.url}/chat/completions`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${MASTER_KEY}`,
      '-d',
      '{"model": "bedrock-claude-v3-haiku", "messages": [{"role": "user", "content": "this is a test request, write a short poem"}]}',
    ])
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).choices[0].message.content).toBe(
      'You said: this is a test request, write a short poem',
    )
  })
  it('"mock rate limit" answers exactly the error the seed README shows', async () => {
    const before = fake.requests.length
    const res = await curl([
      '-X',
      'POST',
      `${gateway.url}/chat/completions`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${MASTER_KEY}`,
      '-d',
      `{
    "model": "bedrock-claude-v3-sonnet",
    "messages": [
            {"role": "user", "content": "Hi there!"}
        ],
        "mock_testing_rate_limit_error": true
    }`,
    ])
    expect(res.status).toBe(429)
    // The README's "response error", verbatim.
    expect(JSON.parse(res.body)).toEqual({
      error: {
        message:
          "litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-sonnet, to trigger a rate limit error.\nReceived Model Group=bedrock-claude-v3-sonnet\nAvailable Model Group Fallbacks=['bedrock-claude-v3-haiku']\nError doing the fallback: litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-haiku, to trigger a rate limit error.No fallback model group found for original model_group=bedrock-claude-v3-haiku. Fallbacks=[{'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku']}]\nReceived Model Group=bedrock-claude-v3-haiku\nAvailable Model Group Fallbacks=None\nError doing the fallback: litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-haiku, to trigger a rate limit error.No fallback model group found for original model_group=bedrock-claude-v3-haiku. Fallbacks=[{'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku']}]",
        type: null,
        param: null,
        code: '429',
      },
    })
    // A drill: no upstream was called.
    expect(fake.requests.length).toBe(before)
  })

  it('"mock fallback" is answered by haiku, from the fallback group', async () => {
    const before = fake.requests.length
    const res = await curl([
      '-X',
      'POST',
      `${gateway.url}/chat/completions`,
      '--header',
      'Content-Type: application/json',
      '--header',
      `Authorization: Bearer ${MASTER_KEY}`,
      '--data',
      `{
    "model": "bedrock-claude-v3-sonnet",
    "messages": [
        {
        "role": "user",
        "content": "what llm are you"
        }
    ],
    "mock_testing_fallbacks": true
}`,
    ])
    expect(res.status).toBe(200)
    const body = JSON.parse(res.body)
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
      choices: [
        {
          finish_reason: 'stop',
          index: 0,
          message: { role: 'assistant', content: 'You said: what llm are you' },
        },
      ],
    })
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
    expect(res.headers).toContain('x-litellm-model-group: bedrock-claude-v3-haiku')
    expect(res.headers).toContain('x-litellm-attempted-fallbacks: 1')
    const called = fake.requests.slice(before)
    expect(called.map((r) => r.modelId)).toEqual(['anthropic.claude-3-haiku-20240307-v1:0'])
  })
})
