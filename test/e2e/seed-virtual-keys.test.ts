import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { type FreshDatabase, freshDatabase, postgres, redis, requireOrSkip } from '../helpers/services'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * The seed README's "Virtual Key and Spend Tracking - with PG" walkthrough and LiteLLM's virtual-key
 * test flow (tests/test_keys.py: generate → call → info/spend → update → regenerate → delete, user and
 * key budgets, team models), on the real Node server with real Postgres (DATABASE_URL) and Redis
 * (REDIS_URL, a logical db of its own), in front of the fake Bedrock. The seed's own commands are sent
 * with curl, their bodies verbatim; the calls are made with the official `openai` client.
 */
const execFileAsync = promisify(execFile)
const MASTER_KEY = 'sk-seed-master'
const SONNET = 'bedrock-claude-v3-sonnet'
const HAIKU = 'bedrock-claude-v3-haiku'
const OPUS = 'bedrock-claude-v3-opus'
const seedConfig = (key: string, secret: string) => `
model_list:
  - model_name: ${SONNET}
    litellm_params:
        model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
        aws_region_name: "us-west-2"
        aws_access_key_id: "${key}"
        aws_secret_access_key: "${secret}"
  - model_name: ${HAIKU}
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: "us-west-2"
      aws_access_key_id: ${key}
      aws_secret_access_key: ${secret}
  - model_name: ${OPUS}
    litellm_params:
      model: bedrock/anthropic.claude-3-opus-20240229-v1:0
      aws_region_name: "us-west-2"
      aws_access_key_id: ${key}
      aws_secret_access_key: ${secret}
general_settings:
  master_key: ${MASTER_KEY}
  proxy_batch_write_at: 1
`

interface ErrorEnvelope {
  error: { message: string; type: string | null; param: string | null; code: string }
}
interface GeneratedKey {
  key: string
  key_name: string
  token_id: string
  models: string[]
  metadata: Record<string, unknown>
  expires: string | null
  max_budget: number | null
  team_id: string | null
}
interface KeyInfo {
  key: string
  info: Record<string, unknown> & { spend: number; models: string[]; metadata: Record<string, unknown> }
}
interface SpendLogRow {
  request_id: string
  api_key: string
  spend: number
  model_group: string
  total_tokens: number
  user: string
}
interface NewUser {
  user_id: string
  key: string
  user_email: string
  max_budget: number
}
interface UserInfo {
  user_id: string
  user_info: { spend: number; max_budget: number; user_email: string }
  keys: Array<{ token: string; spend: number; user_id: string }>
}
interface KeyList {
  keys: string[]
  total_count: number
}
interface ReportRow {
  api_key: string
  total_cost: number
  total_input_tokens: number
  total_output_tokens: number
  model_details: Array<{ model: string; total_cost: number }>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sum = (rows: readonly SpendLogRow[]) => rows.reduce((total, row) => total + row.spend, 0)
const todayUtc = () => new Date().toISOString().slice(0, 10)

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

/** Polls `read` until `done` holds (or the deadline passes) and returns the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await sleep(100)
  }
}

describe.runIf(requireOrSkip('seed README virtual keys on Postgres + Redis', postgres, redis))(
  'seed README: virtual key and spend tracking, with PG (and Redis)',
  () => {
    let fake: FakeBedrock
    let db: FreshDatabase
    let redisDb: ClaimedRedisDb
    let redisClient: ClaimedRedisDb['client']
    let gateway: GatewayProcess
    let base: string

    /** A management or LLM route with JSON in and out (the master key unless told otherwise). */
    async function api<T>(
      method: string,
      path: string,
      body?: unknown,
      key = MASTER_KEY,
    ): Promise<{ status: number; json: T }> {
      const headers: Record<string, string> = { authorization: `Bearer ${key}` }
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

    /** The status of one chat call (the OpenAI SDK's error status, or 200), and its error envelope. */
    async function chatStatus(
      key: string,
      model: string,
    ): Promise<{ status: number; error?: ErrorEnvelope }> {
      try {
        await client(key).chat.completions.create(hello(model))
        return { status: 200 }
      } catch (error) {
        if (!(error instanceof OpenAI.APIError)) throw error
        return { status: error.status ?? 0, error: { error: error.error as ErrorEnvelope['error'] } }
      }
    }

    const spendLogs = async (key?: string) =>
      (
        await api<SpendLogRow[]>(
          'GET',
          `/spend/logs?summarize=false${key === undefined ? '' : `&api_key=${encodeURIComponent(key)}`}`,
        )
      ).json

    beforeAll(async () => {
      fake = await startFakeBedrock({ anyRegion: true })
      db = await freshDatabase()
      redisDb = await claimRedisDb(`seed-virtual-keys-${process.pid}`)
      redisClient = redisDb.client
      gateway = await startGateway(
        ['--config', writeConfig(seedConfig(fake.credentials.accessKeyId, fake.credentials.secretAccessKey))],
        {
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
          DATABASE_URL: db.url,
          REDIS_URL: redisDb.url,
        },
      )
      base = gateway.url
    })

    afterAll(async () => {
      await gateway?.stop()
      await fake?.close()
      await redisDb?.release().catch(() => {})
      await db?.drop()
    })

    it('starts on the TCP stores: Postgres from DATABASE_URL, Redis from REDIS_URL', () => {
      expect(gateway.stderr()).toMatch(
        new RegExp(`stores: Postgres 127\\.0\\.0\\.1:5432/${db.name}, Redis \\(migrations applied: `),
      )
    })

    let seedKey: string
    let seedHash: string
    const costs: number[] = []

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
      expect(res.status).toBe(200)
      expect(res.headers).toContain('content-type: application/json')
      const made = JSON.parse(res.body) as GeneratedKey
      seedKey = made.key
      seedHash = sha256(seedKey)
      expect(seedKey).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
      expect(made.key_name).toBe(`sk-...${seedKey.slice(-4)}`)
      expect(made.token_id).toBe(seedHash)
      expect(made.models).toEqual([SONNET, HAIKU])
      expect(made.metadata).toEqual({ user: '<user_mail>' })
      expect(made.expires).toBeNull()
      // Only the hash is stored.
      const rows = await pgQuery<{ token: string; key_name: string }>(
        'SELECT token, key_name FROM "LiteLLM_VerificationToken"',
      )
      expect(rows).toEqual([{ token: seedHash, key_name: made.key_name }])
    })

    it('"request with virtual key": the seed curl, then the openai client (chat, stream, denied model)', async () => {
      const res = await curl([
        `${base}/v1/chat/completions`,
        '-H',
        'Content-Type: application/json',
        '-H',
        `Authorization: Bearer ${seedKey}`,
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
      expect(res.status).toBe(200)
      expect(
        (JSON.parse(res.body) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message,
      ).toMatchObject({ content: 'You said: Hello' })
      const curlCost = Number(/x-litellm-response-cost: ([^\r\n]+)/.exec(res.headers)?.[1])
      // claude-3-sonnet: 1 prompt token × 3e-6 + 3 completion tokens × 1.5e-5.
      expect(curlCost).toBeCloseTo(4.8e-5, 12)
      costs.push(curlCost)

      const openai = client(seedKey)
      const { data, response } = await openai.chat.completions.create(hello(SONNET)).withResponse()
      expect(data.choices[0]?.message.content).toBe('You said: Hello')
      expect(data.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 })
      const cost = Number(response.headers.get('x-litellm-response-cost'))
      expect(cost).toBeGreaterThan(0)
      expect(cost).toBeCloseTo(curlCost, 12)
      costs.push(cost)

      const stream = await openai.chat.completions.create({
        ...hello(HAIKU),
        stream: true,
        stream_options: { include_usage: true },
      })
      let text = ''
      let usage: OpenAI.CompletionUsage | null | undefined
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (chunk.usage) usage = chunk.usage
      }
      expect(text).toBe('You said: Hello')
      expect(usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 })
      // claude-3-haiku: 1 × 2.5e-7 + 3 × 1.25e-6.
      costs.push(4e-6)

      const before = fake.requests.length
      const denied = await openai.chat.completions.create(hello(OPUS)).catch((e: unknown) => e)
      expect(denied).toBeInstanceOf(OpenAI.AuthenticationError)
      const error = denied as InstanceType<typeof OpenAI.AuthenticationError>
      expect(error.status).toBe(401)
      expect(error.error).toEqual({
        message: `key not allowed to access model. This key can only access models=['${SONNET}', '${HAIKU}']. Tried to access ${OPUS}`,
        type: 'key_model_access_denied',
        param: 'model',
        code: '401',
      })
      expect(fake.requests.length).toBe(before)
    })

    it('"get spend info with key": the seed curl shows the spend, equal to the spend logs once flushed', async () => {
      const info = async () => {
        const res = await curl([
          `${base}/key/info?key=${seedKey}`,
          '-X',
          'GET',
          '-H',
          `Authorization: Bearer ${MASTER_KEY}`,
        ])
        expect(res.status).toBe(200)
        return JSON.parse(res.body) as KeyInfo
      }
      const expected = costs.reduce((a, b) => a + b, 0)
      // The running total is shared at once (Redis); the stream's cost is added after its last chunk.
      const now = await until(info, (r) => Math.abs(r.info.spend - expected) < 1e-12)
      expect(now.key).toBe(seedKey)
      expect(now.info.spend).toBeGreaterThan(0)
      expect(now.info.spend).toBeCloseTo(expected, 12)
      expect(now.info.models).toEqual([SONNET, HAIKU])
      expect(now.info.metadata).toEqual({ user: '<user_mail>' })
      expect(now.info.key_name).toBe(`sk-...${seedKey.slice(-4)}`)
      expect(now.info).not.toHaveProperty('token')
      expect(JSON.stringify(now)).not.toContain(seedHash)

      const rows = await until(
        () => spendLogs(seedKey),
        (r) => r.length === 3,
      )
      expect(rows.map((r) => r.model_group).sort()).toEqual([HAIKU, SONNET, SONNET])
      expect(rows.every((r) => r.api_key === seedHash)).toBe(true)
      expect(Math.abs(sum(rows) - now.info.spend)).toBeLessThan(1e-9)
      // The batch write also moved the key row, and the Redis total is the one in the logical db given.
      const [row] = await pgQuery<{ spend: number }>(
        'SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = $1',
        [seedHash],
      )
      expect(row?.spend).toBeCloseTo(now.info.spend, 12)
      expect(Number(await redisClient.get(`spend:key:${seedHash}`))).toBeCloseTo(now.info.spend, 12)
    })

    it('/user/new with a tiny max_budget: calls work until it is spent, then 400 ExceededBudget', async () => {
      const made = await api<NewUser>('POST', '/user/new', { user_email: 'a@b.c', max_budget: 0.0000001 })
      expect(made.status).toBe(200)
      const { user_id: userId, key } = made.json
      expect(userId).toMatch(/^[0-9a-f-]{36}$/)
      expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
      expect(made.json).toMatchObject({ user_email: 'a@b.c', max_budget: 0.0000001 })

      const statuses: number[] = []
      let refused: ErrorEnvelope | undefined
      for (let i = 0; i < 10 && !refused; i++) {
        const res = await chatStatus(key, HAIKU)
        statuses.push(res.status)
        refused = res.error
        if (!refused) await sleep(50)
      }
      expect(statuses[0]).toBe(200)
      expect(statuses.at(-1)).toBe(400)
      expect(statuses.length).toBeLessThanOrEqual(3)
      expect(refused?.error).toMatchObject({ type: 'budget_exceeded', param: null, code: '400' })
      expect(refused?.error.message).toMatch(
        new RegExp(`^ExceededBudget: User=${userId} over budget\\. Spend=[0-9.e-]+, Budget=1e-07$`),
      )
      // A stream is refused before it starts, too.
      const stream = await client(key)
        .chat.completions.create({ ...hello(HAIKU), stream: true })
        .catch((e: unknown) => e)
      expect(stream).toBeInstanceOf(OpenAI.BadRequestError)

      const info = await api<UserInfo>('GET', `/user/info?user_id=${userId}`)
      expect(info.status).toBe(200)
      expect(info.json.user_id).toBe(userId)
      expect(info.json.user_info).toMatchObject({ user_email: 'a@b.c', max_budget: 0.0000001 })
      expect(info.json.user_info.spend).toBeGreaterThanOrEqual(0.0000001)
      expect(info.json.keys.map((k) => k.token)).toEqual([sha256(key)])
      expect(info.json.keys[0]?.spend).toBeCloseTo(info.json.user_info.spend, 12)
    })

    it('a key with a tiny max_budget is refused with 400 budget_exceeded once spent', async () => {
      const made = await api<GeneratedKey>('POST', '/key/generate', { max_budget: 0.0000001 })
      expect(made.status).toBe(200)
      expect(made.json.max_budget).toBe(0.0000001)
      const key = made.json.key
      const first = await client(key).chat.completions.create(hello(HAIKU)).withResponse()
      expect(first.response.headers.get('x-litellm-key-max-budget')).toBe('1e-7')
      const refused = await until(
        () => chatStatus(key, HAIKU),
        (r) => r.status !== 200,
        2000,
      )
      expect(refused.status).toBe(400)
      expect(refused.error?.error).toMatchObject({ type: 'budget_exceeded', param: null, code: '400' })
      expect(refused.error?.error.message).toMatch(
        /^Budget has been exceeded! Current cost: [0-9.e-]+, Max budget: 1e-07$/,
      )
      // The SDK does not retry a 400 (it would retry a 429): one refusal is one request.
      const before = fake.requests.length
      const stream = await client(key)
        .chat.completions.create({ ...hello(HAIKU), stream: true })
        .catch((e: unknown) => e)
      expect(stream).toBeInstanceOf(OpenAI.BadRequestError)
      expect(fake.requests.length).toBe(before)
    })

    it('only the master key manages; a key reads its own /key/info, not another’s', async () => {
      const denied = await api<ErrorEnvelope>('POST', '/key/generate', {}, seedKey)
      expect(denied.status).toBe(403)
      expect(denied.json.error.code).toBe('403')
      const own = await api<KeyInfo>('GET', '/key/info', undefined, seedKey)
      expect(own.status).toBe(200)
      expect(own.json.info.models).toEqual([SONNET, HAIKU])
      expect(own.json.info.spend).toBeGreaterThan(0)
      const other = (await api<GeneratedKey>('POST', '/key/generate', {})).json.key
      const theirs = await api<ErrorEnvelope>('GET', `/key/info?key=${seedKey}`, undefined, other)
      expect(theirs.status).toBe(403)
      expect((await api<ErrorEnvelope>('GET', '/spend/logs', undefined, other)).status).toBe(403)
    })

    it('/key/update changes the models at once', async () => {
      const res = await api<GeneratedKey>('POST', '/key/update', { key: seedKey, models: [OPUS] })
      expect(res.status).toBe(200)
      expect(res.json.models).toEqual([OPUS])
      expect((await chatStatus(seedKey, OPUS)).status).toBe(200)
      const sonnet = await chatStatus(seedKey, SONNET)
      expect(sonnet.status).toBe(401)
      expect(sonnet.error?.error.type).toBe('key_model_access_denied')
      // The metadata given at generation is kept.
      const info = await api<KeyInfo>('GET', `/key/info?key=${seedKey}`)
      expect(info.json.info.metadata).toEqual({ user: '<user_mail>' })
    })

    it('/key/regenerate: the old key is refused, the new one works and keeps the spend', async () => {
      const before = await until(
        () => api<KeyInfo>('GET', `/key/info?key=${seedKey}`),
        (r) => r.json.info.spend > costs.reduce((a, b) => a + b, 0),
      )
      const spendBefore = before.json.info.spend
      // A call whose spend is not yet flushed when the key is regenerated.
      const { response } = await client(seedKey).chat.completions.create(hello(OPUS)).withResponse()
      const callCost = Number(response.headers.get('x-litellm-response-cost'))
      expect(callCost).toBeGreaterThan(0)

      const res = await api<GeneratedKey>('POST', '/key/regenerate', { key: seedKey })
      expect(res.status).toBe(200)
      const fresh = res.json.key
      const oldKey = seedKey
      seedKey = fresh
      seedHash = sha256(fresh)
      expect(fresh).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
      expect(res.json.token_id).toBe(sha256(fresh))
      expect(res.json.models).toEqual([OPUS])

      const old = await chatStatus(oldKey, OPUS)
      expect(old.status).toBe(401)
      expect(old.error?.error.type).toBe('token_not_found_in_db')
      expect((await chatStatus(fresh, OPUS)).status).toBe(200)

      // Same row: its spend carries over to the new key, the call made just before included.
      const info = await until(
        () => api<KeyInfo>('GET', `/key/info?key=${fresh}`),
        (r) => r.json.info.spend >= spendBefore + 2 * callCost - 1e-12,
      )
      expect(info.json.info.spend).toBeCloseTo(spendBefore + 2 * callCost, 12)
      expect(info.json.info.metadata).toEqual({ user: '<user_mail>' })
      // And in Postgres once everything is flushed, the old hash's last row included.
      const keyRow = () =>
        pgQuery<{ spend: number }>('SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = $1', [
          sha256(fresh),
        ])
      const [row] = await until(keyRow, ([r]) => Math.abs((r?.spend ?? 0) - info.json.info.spend) < 1e-12)
      expect(row?.spend).toBeCloseTo(info.json.info.spend, 12)
    })

    it('/key/list includes the hash; /key/delete refuses the key at once', async () => {
      const list = await api<KeyList>('GET', '/key/list?size=100')
      expect(list.status).toBe(200)
      expect(list.json.keys).toContain(seedHash)
      const deleted = await api<{ deleted_keys: string[] }>('POST', '/key/delete', { keys: [seedKey] })
      expect(deleted.json).toEqual({ deleted_keys: [seedKey] })
      const refused = await chatStatus(seedKey, OPUS)
      expect(refused.status).toBe(401)
      expect(refused.error?.error.type).toBe('token_not_found_in_db')
      expect((await api<KeyList>('GET', '/key/list?size=100')).json.keys).not.toContain(seedHash)
      expect((await api<ErrorEnvelope>('GET', `/key/info?key=${seedKey}`)).status).toBe(404)
    })

    it('a team key without models of its own gets the team’s models', async () => {
      const team = await api<{ team_id: string; models: string[] }>('POST', '/team/new', { models: [HAIKU] })
      expect(team.status).toBe(200)
      const made = await api<GeneratedKey>('POST', '/key/generate', { team_id: team.json.team_id })
      expect(made.json).toMatchObject({ team_id: team.json.team_id, models: [] })
      const sonnet = await chatStatus(made.json.key, SONNET)
      expect(sonnet.status).toBe(401)
      expect(sonnet.error?.error.type).toBe('team_model_access_denied')
      expect((await chatStatus(made.json.key, HAIKU)).status).toBe(200)
    })

    it('/global/spend and /global/spend/report?group_by=api_key agree with the spend logs', async () => {
      const start = todayUtc()
      // Every call that reached Bedrock so far, flushed.
      const calls = fake.requests.filter((r) => r.status === 200).length
      expect(calls).toBeGreaterThanOrEqual(9)
      const all = await until(
        () => spendLogs(),
        (r) => r.length === calls,
      )
      expect(all).toHaveLength(calls)
      const global = await api<{ spend: number; max_budget: number }>('GET', '/global/spend')
      expect(global.status).toBe(200)
      expect(global.json.spend).toBeGreaterThan(0)
      expect(Math.abs(global.json.spend - sum(all))).toBeLessThan(1e-9)

      const report = await api<ReportRow[]>(
        'GET',
        `/global/spend/report?start_date=${start}&end_date=${todayUtc()}&group_by=api_key`,
      )
      expect(report.status).toBe(200)
      const byKey = new Map<string, number>()
      for (const row of all) byKey.set(row.api_key, (byKey.get(row.api_key) ?? 0) + row.spend)
      expect(report.json.map((r) => r.api_key).sort()).toEqual([...byKey.keys()].sort())
      for (const row of report.json) expect(row.total_cost).toBeCloseTo(byKey.get(row.api_key) ?? -1, 12)
      // The regenerated seed key: its rows after regeneration are under the new hash.
      const seedRow = report.json.find((r) => r.api_key === seedHash)
      expect(seedRow?.total_cost).toBeGreaterThan(0)
      expect(seedRow?.model_details.map((m) => m.model)).toEqual(['anthropic.claude-3-opus-20240229-v1:0'])
    })

    async function pgQuery<T>(text: string, params: unknown[] = []): Promise<T[]> {
      const c = new pg.Client({ connectionString: db.url })
      await c.connect()
      try {
        return (await c.query(text, params)).rows as T[]
      } finally {
        await c.end()
      }
    }
  },
)
