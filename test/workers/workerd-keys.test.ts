import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { Miniflare } from 'miniflare'
import OpenAI from 'openai'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type FakeNeon, startFakeNeon } from '../fakes/neon-http'
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash'
import {
  type FreshDatabase,
  freshDatabase,
  postgres,
  redis,
  redisUrl,
  requireOrSkip,
} from '../helpers/services'
import { ensureWorkerBundle, WORKER_BUNDLE } from './bundle'

/**
 * The seed README's virtual-key walkthrough, end to end against the Workers bundle inside workerd (no
 * nodejs_compat): Miniflare serves the Worker on a real local HTTP port, the seed's commands are sent
 * with real curl (bodies verbatim) and the calls are made with the official `openai` client. The stores
 * are the ones a Worker can reach: Postgres over Neon's SQL-over-HTTP protocol and Redis over Upstash's
 * REST API. Both are local fakes in front of the real Postgres and Redis, so every query and counter the
 * Worker sends really runs, and the test reads the rows back with `pg`.
 */
const execFileAsync = promisify(execFile)
const MASTER_KEY = 'sk-workerd-master-1234'
const SUITE = 'virtual keys in workerd (Neon HTTP + Upstash REST, over a real port)'
const SONNET = 'bedrock-claude-v3-sonnet'
const HAIKU = 'bedrock-claude-v3-haiku'
const OPUS = 'bedrock-claude-v3-opus'

interface GeneratedKey {
  key: string
  key_name: string
  token: string
  models: string[]
  metadata: Record<string, unknown>
}
interface KeyInfo {
  key: string
  info: { spend: number; models: string[]; metadata: Record<string, unknown> }
}
interface SpendLogRow {
  api_key: string
  spend: number
  model_group: string
}
interface NewUser {
  user_id: string
  user_email: string
  key: string
}
interface UserInfo {
  user_info: { user_id: string; user_email: string }
  keys: Array<{ token: string }>
}
interface ChatCompletion {
  choices: Array<{ message: { role: string; content: string } }>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** `curl -sS -i <args>`: status, lower-cased head, body. */
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

const header = (head: string, name: string) => new RegExp(`^${name}: ([^\\r\\n]+)`, 'm').exec(head)?.[1]

function proxyConfig(bedrock: FakeBedrock): string {
  const group = (name: string, modelId: string) => `
  - model_name: ${name}
    litellm_params:
      model: bedrock/${modelId}
      aws_region_name: us-east-1
      aws_access_key_id: ${bedrock.credentials.accessKeyId}
      aws_secret_access_key: "${bedrock.credentials.secretAccessKey}"
      aws_bedrock_runtime_endpoint: ${bedrock.url}`
  return `model_list:${group(SONNET, 'anthropic.claude-3-sonnet-20240229-v1:0')}${group(
    HAIKU,
    'anthropic.claude-3-haiku-20240307-v1:0',
  )}${group(OPUS, 'anthropic.claude-3-opus-20240229-v1:0')}
`
}

describe.runIf(requireOrSkip(SUITE, postgres, redis))(SUITE, { timeout: 60_000 }, () => {
  let db: FreshDatabase
  let bedrock: FakeBedrock
  let upstash: FakeUpstash
  let neon: FakeNeon
  let mf: Miniflare
  let direct: pg.Client
  /** Where workerd listens, e.g. `http://127.0.0.1:41234`. */
  let base = ''

  beforeAll(async () => {
    ensureWorkerBundle()
    db = await freshDatabase()
    ;[bedrock, upstash, neon] = await Promise.all([
      startFakeBedrock(),
      startFakeUpstash({ redisUrl }),
      startFakeNeon({ postgresUrl: db.url }),
    ])
    mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      modules: true,
      scriptPath: WORKER_BUNDLE,
      compatibilityDate: '2026-04-01',
      compatibilityFlags: ['enable_request_signal'],
      bindings: {
        DATABASE_URL: neon.connectionString,
        NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        LITELLM_MASTER_KEY: MASTER_KEY,
        PROXY_CONFIG: proxyConfig(bedrock),
        LITELLM_LOG: 'INFO',
      },
    })
    base = (await mf.ready).origin
    direct = new pg.Client({ connectionString: db.url })
    await direct.connect()
  }, 60_000)

  afterAll(async () => {
    await mf?.dispose()
    await direct?.end()
    await Promise.all([bedrock?.close(), upstash?.close(), neon?.close()])
    await db?.drop()
  }, 60_000)

  /** A management call over the real port (plain fetch; the seed's own commands go through curl). */
  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const headers: Record<string, string> = { authorization: `Bearer ${MASTER_KEY}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, json: (await res.json()) as T }
  }

  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 })
  const hello = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'Hello' }] })

  let key = ''
  /** Costs of the calls made with the key, as the response headers reported them. */
  const costs: number[] = []
  let modelId = ''

  it('listens on a real local port', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(Number(new URL(base).port)).toBeGreaterThan(0)
  })

  it('"generate virtual key": curl /key/generate with the seed body', async () => {
    const res = await curl([
      `${base}/key/generate`,
      '--header',
      `Authorization: Bearer ${MASTER_KEY}`,
      '--header',
      'Content-Type: application/json',
      '--data-raw',
      `{
        "models": [
            "bedrock-claude-v3-sonnet",
            "bedrock-claude-v3-haiku"
        ],
        "metadata": {
            "user": "<user_mail>"
        }
}`,
    ])
    expect(res.status, res.body).toBe(200)
    expect(res.headers).toContain('content-type: application/json')
    const made = JSON.parse(res.body) as GeneratedKey
    key = made.key
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
    expect(made.token).toBe(sha256(key))
    expect(made.key_name).toBe(`sk-...${key.slice(-4)}`)
    expect(made.models).toEqual([SONNET, HAIKU])
    expect(made.metadata).toEqual({ user: '<user_mail>' })
  })

  it('"request with virtual key": the seed curl reaches sonnet on Bedrock, with its cost', async () => {
    const res = await curl([
      `${base}/v1/chat/completions`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${key}`,
      '-d',
      `{
        "model": "bedrock-claude-v3-sonnet",
        "messages": [
            {
                "role": "user",
                "content": "Hello"
            }
        ]
}`,
    ])
    expect(res.status, res.body).toBe(200)
    const message = (JSON.parse(res.body) as ChatCompletion).choices[0]?.message
    expect(message).toMatchObject({ role: 'assistant', content: 'You said: Hello' })
    const cost = Number(header(res.headers, 'x-litellm-response-cost'))
    // claude-3-sonnet: 1 prompt token × 3e-6 + 3 completion tokens × 1.5e-5.
    expect(cost).toBeCloseTo(4.8e-5, 12)
    costs.push(cost)
    modelId = header(res.headers, 'x-litellm-model-id') ?? ''
    expect(modelId).toMatch(/^[0-9a-f]{64}$/)
    expect(bedrock.requests).toHaveLength(1)
    expect(bedrock.requests[0]?.auth).toEqual({ ok: true })
    expect(bedrock.requests[0]?.modelId).toBe('anthropic.claude-3-sonnet-20240229-v1:0')
  })

  it('the openai client with the virtual key: a call, with the LiteLLM headers', async () => {
    const { data, response } = await client(key).chat.completions.create(hello(SONNET)).withResponse()
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'You said: Hello' })
    expect(data.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 })
    const cost = Number(response.headers.get('x-litellm-response-cost'))
    expect(cost).toBeGreaterThan(0)
    expect(cost).toBeCloseTo(costs[0] ?? Number.NaN, 12)
    costs.push(cost)
    // Same single sonnet deployment as the curl call.
    expect(response.headers.get('x-litellm-model-id')).toBe(modelId)
    expect(bedrock.requests).toHaveLength(2)
  })

  it('the openai client streams haiku with stream_options.include_usage: text, then usage', async () => {
    const { data: stream, response } = await client(key)
      .chat.completions.create({ ...hello(HAIKU), stream: true, stream_options: { include_usage: true } })
      .withResponse()
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    let text = ''
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('You said: Hello')
    expect(usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 })
    expect(bedrock.requests).toHaveLength(3)
    expect(bedrock.requests[2]?.modelId).toBe('anthropic.claude-3-haiku-20240307-v1:0')
    expect(bedrock.requests[2]?.operation).toBe('converse-stream')
  })

  it('the openai client is refused a model outside the key list (AuthenticationError), before Bedrock', async () => {
    const denied = await client(key)
      .chat.completions.create(hello(OPUS))
      .catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError)
    const error = denied as InstanceType<typeof OpenAI.AuthenticationError>
    expect(error.status).toBe(401)
    expect(error.error).toEqual({
      message: `key not allowed to access model. This key can only access models=['${SONNET}', '${HAIKU}']. Tried to access ${OPUS}`,
      type: 'key_model_access_denied',
      param: 'model',
      code: '401',
    })
    expect(bedrock.requests).toHaveLength(3)
  })

  it('"get spend info with key": the seed curl shows the spend, equal to the spend logs once flushed', async () => {
    const logs = async () => {
      const res = await api<SpendLogRow[]>('GET', `/spend/logs?api_key=${key}&summarize=false`)
      expect(res.status).toBe(200)
      return res.json
    }
    // Spend-log rows are written by each request's waitUntil work, after the response was sent.
    const deadline = Date.now() + 15_000
    let rows = await logs()
    while (rows.length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      rows = await logs()
    }
    expect(rows.map((row) => [row.api_key, row.model_group]).sort()).toEqual(
      [
        [sha256(key), SONNET],
        [sha256(key), SONNET],
        [sha256(key), HAIKU],
      ].sort(),
    )
    const logged = rows.reduce((sum, row) => sum + row.spend, 0)
    const sonnet = rows.filter((row) => row.model_group === SONNET).reduce((sum, row) => sum + row.spend, 0)
    expect(sonnet).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      12,
    )
    // claude-3-haiku: 1 × 2.5e-7 + 3 × 1.25e-6.
    expect(logged - sonnet).toBeCloseTo(4e-6, 12)

    const res = await curl([
      `${base}/key/info?key=${key}`,
      '-X',
      'GET',
      '-H',
      `Authorization: Bearer ${MASTER_KEY}`,
    ])
    expect(res.status, res.body).toBe(200)
    const info = JSON.parse(res.body) as KeyInfo
    expect(info.key).toBe(key)
    expect(info.info.spend).toBeGreaterThan(0)
    expect(info.info.spend).toBeCloseTo(logged, 12)
    expect(info.info.models).toEqual([SONNET, HAIKU])
    expect(info.info.metadata).toEqual({ user: '<user_mail>' })
  })

  let userKey = ''

  it('/user/new creates a user with a key, and /user/info lists it', async () => {
    const created = await api<NewUser>('POST', '/user/new', {
      user_id: 'krrish',
      user_email: 'krrish@berri.ai',
    })
    expect(created.status, JSON.stringify(created.json)).toBe(200)
    expect(created.json).toMatchObject({ user_id: 'krrish', user_email: 'krrish@berri.ai' })
    userKey = created.json.key
    expect(userKey).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)

    const info = await api<UserInfo>('GET', '/user/info?user_id=krrish')
    expect(info.status).toBe(200)
    expect(info.json.user_info).toMatchObject({ user_id: 'krrish', user_email: 'krrish@berri.ai' })
    expect(info.json.keys.map((k) => k.token)).toEqual([sha256(userKey)])
  })

  it('/key/delete refuses the key on its very next call', async () => {
    // Cached by the calls above: the delete must evict it, not wait for the cache to expire.
    const openai = client(key)
    const ok = await openai.chat.completions.create(hello(HAIKU))
    expect(ok.choices[0]?.message.content).toBe('You said: Hello')
    const deleted = await api<{ deleted_keys: string[] }>('POST', '/key/delete', { keys: [key] })
    expect(deleted.status).toBe(200)
    expect(deleted.json).toEqual({ deleted_keys: [key] })
    const refused = await openai.chat.completions.create(hello(HAIKU)).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401)
    expect(bedrock.requests).toHaveLength(4)
  })

  it('the rows are in Postgres, written through the Neon HTTP endpoint; counters went through Upstash', async () => {
    const tokens = await direct.query<{ token: string; user_id: string | null }>(
      'SELECT token, user_id FROM "LiteLLM_VerificationToken" ORDER BY token',
    )
    expect(tokens.rows).toEqual([{ token: sha256(userKey), user_id: 'krrish' }])
    const deleted = await direct.query('SELECT token FROM "LiteLLM_DeletedVerificationToken"')
    expect(deleted.rows).toEqual([{ token: sha256(key) }])

    // All four calls are logged (the last haiku one may still be in flight).
    const deadline = Date.now() + 15_000
    let spend: SpendLogRow[] = []
    while (Date.now() < deadline) {
      spend = (
        await direct.query<SpendLogRow>(
          'SELECT api_key, spend, model_group FROM "LiteLLM_SpendLogs" ORDER BY "startTime"',
        )
      ).rows
      if (spend.length >= 4) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(spend.map((row) => [row.api_key, row.model_group])).toEqual([
      [sha256(key), SONNET],
      [sha256(key), SONNET],
      [sha256(key), HAIKU],
      [sha256(key), HAIKU],
    ])
    expect(spend[0]?.spend).toBeCloseTo(costs[0] ?? Number.NaN, 12)
    expect(spend[1]?.spend).toBeCloseTo(costs[1] ?? Number.NaN, 12)

    const migrations = await direct.query('SELECT version FROM multillm_schema_migrations')
    expect(migrations.rows.length).toBeGreaterThan(0)
    expect(neon.requests.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    expect(neon.requests.every((r) => r.status === 200)).toBe(true)
    expect(upstash.requests.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    // No 401 (token) or 500 (Redis unreachable); a 400 is a Redis error reply, e.g. NOSCRIPT for an
    // EVALSHA sent before the script was cached, which the client follows with EVAL.
    const failed = upstash.requests.filter((r) => r.status !== 200)
    expect(failed.map((r) => r.status)).toEqual(failed.map(() => 400))
  })
})
