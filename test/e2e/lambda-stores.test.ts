import { createHash } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import {
  type FreshDatabase,
  freshDatabase,
  postgres,
  redis,
  redisUrl,
  requireOrSkip,
} from '../helpers/services'

/**
 * The Lambda adapter with stores: Postgres over TCP (a fresh real database) and the real Redis, driven
 * through the buffered `handler` with payload format 2.0 events, as the Lambda runtime does. Every
 * check runs right after the handler returned, without polling: the environment is frozen then, so
 * the spend must already be in Postgres.
 */
const MASTER_KEY = 'sk-lambda-stores-1234'
const SUITE = 'Lambda adapter with Postgres + Redis'

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any
type LambdaModule = typeof import('../../adapters/lambda/index')
type AppCacheModule = typeof import('../../adapters/lambda/app-cache')

const ENV_KEYS = ['PROXY_CONFIG', 'LITELLM_MASTER_KEY', 'DATABASE_URL', 'REDIS_URL', 'CONFIG_FILE_PATH']
const savedEnv = new Map(ENV_KEYS.map((k) => [k, process.env[k]]))

function setEnv(values: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function proxyConfig(bedrock: FakeBedrock): string {
  return `model_list:
  - model_name: bedrock-claude-v3-sonnet
    litellm_params:
      model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: ${bedrock.credentials.accessKeyId}
      aws_secret_access_key: "${bedrock.credentials.secretAccessKey}"
      aws_bedrock_runtime_endpoint: ${bedrock.url}
  - model_name: other
    litellm_params: { model: mock/demo, mock_response: hi }
`
}

function v2Event(method: string, path: string, query = '', key = MASTER_KEY, body?: unknown) {
  const domain = 'abcdefghij.lambda-url.us-east-1.on.aws'
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: {
      host: domain,
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    requestContext: { domainName: domain, stage: '$default', http: { method, path } },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  }
}

/** Fresh copies of the adapter modules (one registry), so the per-environment app cache starts empty. */
async function freshModules(): Promise<{ lambda: LambdaModule; cache: AppCacheModule }> {
  vi.resetModules()
  const lambda = await import('../../adapters/lambda/index')
  const cache = await import('../../adapters/lambda/app-cache')
  return { lambda, cache }
}

describe.runIf(requireOrSkip(SUITE, postgres, redis))(SUITE, () => {
  let db: FreshDatabase
  let bedrock: FakeBedrock
  let direct: pg.Client
  let modules: { lambda: LambdaModule; cache: AppCacheModule }
  const lines: string[] = []
  const logs = vi.spyOn(console, 'log')

  beforeAll(async () => {
    logs.mockImplementation((line: unknown) => void lines.push(String(line)))
    db = await freshDatabase()
    bedrock = await startFakeBedrock()
    direct = new pg.Client({ connectionString: db.url })
    await direct.connect()
    setEnv({
      PROXY_CONFIG: proxyConfig(bedrock),
      LITELLM_MASTER_KEY: MASTER_KEY,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      CONFIG_FILE_PATH: undefined,
    })
    modules = await freshModules()
  })

  afterAll(async () => {
    await modules?.cache.closeApp()
    await direct?.end()
    await bedrock?.close()
    await db?.drop()
    for (const [k, v] of savedEnv) setEnv({ [k]: v })
    logs.mockRestore()
  })

  const invoke = async (method: string, path: string, query = '', key = MASTER_KEY, body?: unknown) => {
    const result = await modules.lambda.handler(v2Event(method, path, query, key, body))
    return { status: result.statusCode, headers: result.headers, json: JSON.parse(result.body) as Json }
  }

  let key = ''

  it('/key/generate on the first invocation migrates the fresh database', async () => {
    const res = await invoke('POST', '/key/generate', '', MASTER_KEY, {
      models: ['bedrock-claude-v3-sonnet'],
      metadata: { user: 'ishaan@berri.ai' },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    key = res.json.key
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
    expect(lines.filter((line) => line.includes('schema migration 1'))).toHaveLength(1)
    const rows = await direct.query('SELECT token FROM "LiteLLM_VerificationToken"')
    expect(rows.rows).toEqual([{ token: sha256(key) }])
  })

  it('a chat with the new key has its spend in Postgres when the handler returns', async () => {
    const res = await invoke('POST', '/v1/chat/completions', '', key, {
      model: 'bedrock-claude-v3-sonnet',
      messages: [{ role: 'user', content: 'Hello' }],
    })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    const cost = Number(res.headers['x-litellm-response-cost'])
    expect(cost).toBeGreaterThan(0)
    expect(bedrock.requests).toHaveLength(1)

    // No polling: the invocation awaited its waitUntil work, the spend write included.
    const logged = await direct.query<{ spend: number }>(
      'SELECT spend FROM "LiteLLM_SpendLogs" WHERE api_key = $1',
      [sha256(key)],
    )
    expect(logged.rows).toHaveLength(1)
    expect(logged.rows[0]?.spend).toBeCloseTo(cost, 12)
    const [token] = (
      await direct.query<{ spend: number }>(
        'SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = $1',
        [sha256(key)],
      )
    ).rows
    expect(token?.spend).toBeCloseTo(cost, 12)

    const denied = await invoke('POST', '/v1/chat/completions', '', key, {
      model: 'other',
      messages: [{ role: 'user', content: 'Hello' }],
    })
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('key_model_access_denied')
  })

  it('/key/info shows the spend, equal to the sum of the spend logs', async () => {
    const info = await invoke('GET', '/key/info', `key=${key}`)
    expect(info.status).toBe(200)
    expect(info.json.info.metadata).toEqual({ user: 'ishaan@berri.ai' })
    const rows = await invoke('GET', '/spend/logs', `api_key=${key}&summarize=false`)
    expect(rows.status).toBe(200)
    const logged = (rows.json as { spend: number }[]).reduce((sum, row) => sum + row.spend, 0)
    expect(rows.json).toHaveLength(1)
    expect(logged).toBeGreaterThan(0)
    expect(info.json.info.spend).toBeCloseTo(logged, 12)
    // One migration per execution environment, however many invocations it serves.
    expect(lines.filter((line) => line.includes('schema migration 1'))).toHaveLength(1)
  })

  it('without DATABASE_URL there are no stores, only the master key (no PGlite in /tmp)', async () => {
    await modules.cache.closeApp()
    setEnv({ DATABASE_URL: undefined })
    try {
      modules = await freshModules()
      const res = await invoke('POST', '/key/generate', '', MASTER_KEY, {})
      expect(res.status).toBe(500)
      expect(res.json.error.type).toBe('db_not_connected_error')
      expect(lines.join('\n')).toContain('Redis is configured but DATABASE_URL is not')
      const models = await invoke('GET', '/v1/models')
      expect(models.status).toBe(200)
    } finally {
      setEnv({ DATABASE_URL: db.url })
    }
  })
})
