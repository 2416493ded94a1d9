import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { type FreshDatabase, freshDatabase, postgres, redis, requireOrSkip } from '../helpers/services'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * Key rate limits across two gateway processes on one Postgres and one Redis: the windows and
 * parallel slots live in the shared counters, so a limit holds in total, not per instance.
 */
const MASTER = 'sk-limits-multi-master-0001'
const CONFIG = `
model_list:
  - model_name: fast
    litellm_params: { model: mock/x, mock_response: hello }
  - model_name: slow
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/FAKE_AWS_KEY
      aws_secret_access_key: os.environ/FAKE_AWS_SECRET
general_settings:
  master_key: ${MASTER}
`

const post = (base: string, path: string, body: unknown, key = MASTER) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const chat = (base: string, key: string, model: string, stream = false) =>
  post(base, '/v1/chat/completions', { model, stream, messages: [{ role: 'user', content: 'hi' }] }, key)

async function newKey(base: string, body: Record<string, unknown>): Promise<string> {
  const res = await post(base, '/key/generate', body)
  expect(res.status).toBe(200)
  return ((await res.json()) as { key: string }).key
}

describe.runIf(requireOrSkip('rate limits across instances', postgres, redis))(
  'rate limits across instances',
  () => {
    let db: FreshDatabase
    let redisDb: ClaimedRedisDb
    let fake: FakeBedrock
    let a: GatewayProcess
    let b: GatewayProcess

    beforeAll(async () => {
      db = await freshDatabase()
      redisDb = await claimRedisDb(db.name)
      fake = await startFakeBedrock()
      fake.setHandler(() => ({
        type: 'stream',
        reply: { text: 'one two three four five six' },
        eventGapMs: 300,
      }))
      const config = writeConfig(CONFIG)
      const env = {
        DATABASE_URL: db.url,
        REDIS_URL: redisDb.url,
        DRAIN_TIMEOUT_SECONDS: '5',
        FAKE_AWS_KEY: fake.credentials.accessKeyId,
        FAKE_AWS_SECRET: fake.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      }
      // One at a time: the first one migrates the fresh database.
      a = await startGateway(['--config', config], env)
      b = await startGateway(['--config', config], env)
    }, 60_000)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
      await fake?.close()
      await db?.drop()
      await redisDb?.release()
    })

    it('rpm_limit 4 admits exactly 4 calls in total across both instances', async () => {
      const key = await newKey(a.url, { rpm_limit: 4 })
      const bases = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a.url : b.url))
      const answers = await Promise.all(
        bases.map(async (base) => {
          const res = await chat(base, key, 'fast')
          await res.text()
          return { status: res.status, retryAfter: res.headers.get('retry-after') }
        }),
      )
      expect(answers.filter((r) => r.status === 200)).toHaveLength(4)
      const refused = answers.filter((r) => r.status === 429)
      expect(refused).toHaveLength(6)
      for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
      // Still refused afterwards, on either instance.
      expect((await chat(a.url, key, 'fast')).status).toBe(429)
      expect((await chat(b.url, key, 'fast')).status).toBe(429)
    })

    it('max_parallel_requests 2 admits exactly 2 concurrent streams across both instances', async () => {
      const key = await newKey(a.url, { max_parallel_requests: 2 })
      const bases = [a.url, b.url, a.url, b.url, a.url, b.url]
      const responses = await Promise.all(bases.map((base) => chat(base, key, 'slow', true)))
      const statuses = responses.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(2)
      expect(statuses.filter((s) => s === 429)).toHaveLength(4)
      const bodies = await Promise.all(responses.map((r) => r.text()))
      for (const [i, body] of bodies.entries()) if (statuses[i] === 200) expect(body).toContain('[DONE]')
      // Both slots are free again once the streams ended (settled in the background: poll briefly).
      const deadline = Date.now() + 5000
      let again: number[] = []
      for (;;) {
        const next = await Promise.all([chat(a.url, key, 'slow', true), chat(b.url, key, 'slow', true)])
        again = next.map((r) => r.status)
        await Promise.all(next.map((r) => r.text()))
        if (again.every((s) => s === 200) || Date.now() > deadline) break
      }
      expect(again).toEqual([200, 200])
    }, 60_000)
  },
)
