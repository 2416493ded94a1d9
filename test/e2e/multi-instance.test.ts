import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgSql } from '../../adapters/node/stores/pg-sql'
import type { Sql } from '../../src/store/sql'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { type FreshDatabase, freshDatabase, postgres, redis, requireOrSkip } from '../helpers/services'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * Several gateway processes on one Postgres and one Redis, as in a real deployment behind a load
 * balancer: spend stays exact under concurrency, a revoked key stops working on every instance
 * within a second, and a Postgres outage on one instance delays its spend but loses none of it (a
 * TCP proxy between that instance and Postgres resets its connections and refuses, or holds, new ones).
 *
 * The counters' Redis keys are not prefixed (`spend:key:<hash>`, `keys:epoch`), so this file gets a
 * Redis logical database of its own (2..15, claimed with a marker key, flushed before and after).
 */
const MASTER = 'sk-multi-instance-master-0001'
const CHEAP = { input: 0.000001, output: 0.000002 }
const ODD = { input: 0.00000137, output: 0.00000291 }
const CONFIG = `
model_list:
  - model_name: cheap
    litellm_params: { model: mock/x, mock_response: hello }
    model_info: { input_cost_per_token: ${CHEAP.input}, output_cost_per_token: ${CHEAP.output} }
  - model_name: odd
    litellm_params: { model: mock/y, mock_response: hello }
    model_info: { input_cost_per_token: ${ODD.input}, output_cost_per_token: ${ODD.output} }
general_settings:
  master_key: ${MASTER}
  proxy_batch_write_at: 1
`
/** Mock usage is 10 prompt + 20 completion tokens. */
const expectedCost = (p: { input: number; output: number }) => 10 * p.input + 20 * p.output
const EPSILON = 1e-9

interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
  json: any
  headers: Headers
}

async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  key = MASTER,
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : null, headers: response.headers }
}

interface Call {
  status: number
  id: string
  cost: number
  error?: string
}

async function chat(base: string, key: string, model = 'cheap'): Promise<Call> {
  const res = await api(
    base,
    'POST',
    '/v1/chat/completions',
    { model, messages: [{ role: 'user', content: 'hi' }] },
    key,
  )
  return {
    status: res.status,
    id: String(res.json?.id ?? ''),
    cost: Number(res.headers.get('x-litellm-response-cost')),
    ...(res.status !== 200 && { error: JSON.stringify(res.json) }),
  }
}

async function generateKey(base: string): Promise<{ key: string; hash: string }> {
  const res = await api(base, 'POST', '/key/generate', {})
  expect(res.status).toBe(200)
  return { key: res.json.key, hash: res.json.token_id }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, everyMs = 100) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)

/** A type, not an interface, so it satisfies Sql's Row (an index signature). */
type KeySpendRow = {
  token: string
  spend: number
  cheap: number | null
  odd: number | null
  log_spend: number | null
  log_rows: number
}

describe.runIf(requireOrSkip('multi-instance gateway', postgres, redis))('multi-instance gateway', () => {
  let db: FreshDatabase
  let sql: Sql
  let redisDb: ClaimedRedisDb
  let proxy: TcpProxy
  let a: GatewayProcess
  let b: GatewayProcess
  /** The third instance, whose Postgres connection goes through `proxy`. */
  let c: GatewayProcess
  let cStartedAt = 0

  beforeAll(async () => {
    db = await freshDatabase()
    redisDb = await claimRedisDb(db.name)
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 })
    const config = writeConfig(CONFIG)
    const env = (databaseUrl: string) => ({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisDb.url,
      DRAIN_TIMEOUT_SECONDS: '5',
    })
    // One at a time: the first one migrates the fresh database.
    a = await startGateway(['--config', config], env(db.url))
    ;[b, c] = await Promise.all([
      startGateway(['--config', config], env(db.url)),
      startGateway(['--config', config], env(`postgres://postgres@127.0.0.1:${proxy.port}/${db.name}`)),
    ])
    cStartedAt = Date.now()
    sql = pgSql(db.url, { max: 2 })
  })

  afterAll(async () => {
    proxy?.restore()
    await Promise.all([a?.stop(), b?.stop(), c?.stop()])
    await proxy?.close()
    await sql?.close()
    await db?.drop()
    await redisDb?.release()
  })

  /** Postgres' view of these keys: key spend, per-model spend and their spend-log rows. */
  async function keySpend(hashes: readonly string[]): Promise<Map<string, KeySpendRow>> {
    const rows = await sql.query<KeySpendRow>(
      `SELECT t.token, t.spend, (t.model_spend ->> 'cheap')::float8 AS cheap, (t.model_spend ->> 'odd')::float8 AS odd,
         (SELECT sum(l.spend) FROM "LiteLLM_SpendLogs" l WHERE l.api_key = t.token) AS log_spend,
         (SELECT count(*)::int FROM "LiteLLM_SpendLogs" l WHERE l.api_key = t.token) AS log_rows
       FROM "LiteLLM_VerificationToken" t WHERE t.token IN (SELECT jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(hashes)],
    )
    return new Map(rows.map((row) => [row.token, row]))
  }

  async function loggedIds(ids: readonly string[]): Promise<string[]> {
    const rows = await sql.query<{ request_id: string }>(
      `SELECT request_id FROM "LiteLLM_SpendLogs" WHERE request_id IN (SELECT jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(ids)],
    )
    return rows.map((r) => r.request_id)
  }

  it('keeps spend exact to the call when two instances serve 400 concurrent calls on 20 keys', async () => {
    const keys = await mapLimit(Array.from({ length: 20 }), 5, () => generateKey(a.url))
    // Every key is used on both instances and both model groups.
    const plan = Array.from({ length: 400 }, (_, i) => ({
      gateway: Math.floor(i / 20) % 2 === 0 ? a : b,
      key: keys[i % 20] as { key: string; hash: string },
      model: i % 3 === 0 ? 'odd' : 'cheap',
    }))
    const started = Date.now()
    const calls = await mapLimit(plan, 32, (p) => chat(p.gateway.url, p.key.key, p.model))
    const servedMs = Date.now() - started
    expect(calls.filter((call) => call.status !== 200)).toEqual([])
    plan.forEach((p, i) => {
      expect(calls[i]?.cost).toBeCloseTo(expectedCost(p.model === 'odd' ? ODD : CHEAP), 15)
    })
    const ids = calls.map((call) => call.id)
    expect(new Set(ids).size).toBe(400)

    // Both instances flush every second; wait until every row is in Postgres.
    const flushStarted = Date.now()
    await waitFor('400 spend-log rows', 10_000, async () => (await loggedIds(ids)).length >= 400)
    const flushMs = Date.now() - flushStarted
    const [logs] = await sql.query<{ rows: number; ids: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS ids FROM "LiteLLM_SpendLogs"`,
    )
    expect(logs).toEqual({ rows: 400, ids: 400 })
    expect((await loggedIds(ids)).sort()).toEqual([...ids].sort())

    const spend = await keySpend(keys.map((k) => k.hash))
    for (const key of keys) {
      const mine = plan.flatMap((p, i) =>
        p.key === key ? [{ model: p.model, cost: calls[i]?.cost ?? 0 }] : [],
      )
      const expected = sum(mine.map((m) => m.cost))
      const row = spend.get(key.hash)
      expect(row?.log_rows).toBe(20)
      expect(Math.abs((row?.spend ?? 0) - expected)).toBeLessThan(EPSILON)
      expect(Math.abs((row?.log_spend ?? 0) - expected)).toBeLessThan(EPSILON)
      for (const model of ['cheap', 'odd'] as const) {
        const perModel = sum(mine.filter((m) => m.model === model).map((m) => m.cost))
        expect(Math.abs((row?.[model] ?? 0) - perModel)).toBeLessThan(EPSILON)
      }
      for (const gateway of [a, b]) {
        const info = await api(gateway.url, 'GET', `/key/info?key=${key.key}`)
        expect(info.status).toBe(200)
        expect(Math.abs(info.json.info.spend - expected)).toBeLessThan(EPSILON)
      }
    }
    console.info(`multi-instance: 400 calls served in ${servedMs} ms, all in Postgres ${flushMs} ms later`)
  })

  for (const how of ['block', 'delete'] as const) {
    it(`stops a key on both instances within 1 s of /key/${how}`, async () => {
      const { key } = await generateKey(a.url)
      // A call on each instance caches the key there.
      expect((await chat(a.url, key)).status).toBe(200)
      expect((await chat(b.url, key)).status).toBe(200)

      const res =
        how === 'block'
          ? await api(a.url, 'POST', '/key/block', { key })
          : await api(a.url, 'POST', '/key/delete', { keys: [key] })
      expect(res.status).toBe(200)
      const revokedAt = Date.now()

      const refusedAfter = await Promise.all(
        [a, b].map(async (gateway) => {
          for (;;) {
            const call = await chat(gateway.url, key)
            const elapsed = Date.now() - revokedAt
            if (call.status === 401) return elapsed
            expect(call.status).toBe(200)
            if (elapsed > 1000) return elapsed
            await sleep(50)
          }
        }),
      )
      console.info(
        `multi-instance: /key/${how} effective on A after ${refusedAfter[0]} ms, B after ${refusedAfter[1]} ms`,
      )
      for (const ms of refusedAfter) expect(ms).toBeLessThanOrEqual(1000)
      // And it stays revoked everywhere.
      for (const gateway of [a, b, c]) {
        for (let i = 0; i < 3; i++) expect((await chat(gateway.url, key)).status).toBe(401)
      }
    })
  }

  // refuse: connections reset; hold: new connections hang; blackhole: open connections go silent
  // without a reset (a failover), which only pg's query timeout can detect.
  for (const mode of ['refuse', 'hold', 'blackhole'] as const) {
    it(`loses no spend and counts none twice when one instance loses Postgres (${mode})`, async () => {
      const keys = await mapLimit(Array.from({ length: 3 }), 3, () => generateKey(a.url))
      const hashes = keys.map((k) => k.hash)
      // /key/generate publishes an invalidation of the new hashes (dropping negative cache entries), and
      // C's first poll clears its whole cache: warm C's cache only once both have been seen (polls
      // every 250 ms), so the outage below is met with every key and spend total already in place.
      await sleep(Math.max(750, cStartedAt + 1000 - Date.now()))
      const warm = await mapLimit(
        keys.flatMap((k) => [
          { key: k, model: 'cheap' },
          { key: k, model: 'odd' },
        ]),
        6,
        (w) => chat(c.url, w.key.key, w.model),
      )
      expect(warm.filter((call) => call.status !== 200)).toEqual([])
      await waitFor('warm-up rows', 10_000, async () => (await loggedIds(warm.map((w) => w.id))).length === 6)
      const before = await keySpend(hashes)

      // Liveness probe of C every 100 ms, for the whole outage and recovery.
      const probes: Array<{ at: number; ok: boolean }> = []
      let probing = true
      const prober = (async () => {
        while (probing) {
          const ok = await fetch(`${c.url}/health/liveliness`, { signal: AbortSignal.timeout(1000) })
            .then((r) => r.status === 200)
            .catch(() => false)
          probes.push({ at: Date.now(), ok })
          await sleep(100)
        }
      })()

      const stdoutBefore = c.stdout().length
      proxy.cut(mode)
      const cutAt = Date.now()
      const plan = Array.from({ length: 60 }, (_, i) => ({
        key: keys[i % 3] as { key: string; hash: string },
        model: i % 2 ? 'odd' : 'cheap',
      }))
      const calls = await mapLimit(plan, 8, (p) => chat(c.url, p.key.key, p.model))
      expect(calls.filter((call) => call.status !== 200)).toEqual([])
      const ids = calls.map((call) => call.id)

      // Several flush intervals pass; the writes fail (refused at once, or a held connect timing out
      // after pg's 5 s) and are retried with backoff; nothing reaches Postgres.
      await waitFor('a failed spend write', 15_000, async () =>
        c.stdout().slice(stdoutBefore).includes('spend write failed'),
      )
      await sleep(Math.max(0, cutAt + 3500 - Date.now()))
      // The calls were served from C's key cache and Redis alone: no lookup or total needed Postgres.
      expect(c.stdout().slice(stdoutBefore)).not.toMatch(/spend totals not updated|Internal error/)
      expect(await loggedIds(ids)).toEqual([])
      // Meanwhile the shared totals already hold the spend: another instance reports it.
      for (const [i, key] of keys.entries()) {
        const owed = sum(calls.filter((_, j) => j % 3 === i).map((call) => call.cost))
        const info = await api(a.url, 'GET', `/key/info?key=${key.key}`)
        expect(Math.abs(info.json.info.spend - ((before.get(key.hash)?.spend ?? 0) + owed))).toBeLessThan(
          EPSILON,
        )
      }

      proxy.restore()
      const restoredAt = Date.now()
      await waitFor('the outage rows', 60_000, async () => (await loggedIds(ids)).length === ids.length)
      const recoveredMs = Date.now() - restoredAt

      const check = async () => {
        const after = await keySpend(hashes)
        expect(await loggedIds(ids)).toHaveLength(60)
        for (const [i, key] of keys.entries()) {
          const owed = sum(calls.filter((_, j) => j % 3 === i).map((call) => call.cost))
          const was = before.get(key.hash)
          const now = after.get(key.hash)
          expect(now?.log_rows).toBe((was?.log_rows ?? 0) + 20)
          expect(Math.abs((now?.spend ?? 0) - ((was?.spend ?? 0) + owed))).toBeLessThan(EPSILON)
          expect(Math.abs((now?.log_spend ?? 0) - (now?.spend ?? 0))).toBeLessThan(EPSILON)
          for (const model of ['cheap', 'odd'] as const) {
            const owedOnModel = sum(
              calls.filter((_, j) => j % 3 === i && plan[j]?.model === model).map((x) => x.cost),
            )
            expect(Math.abs((now?.[model] ?? 0) - ((was?.[model] ?? 0) + owedOnModel))).toBeLessThan(EPSILON)
          }
          // The shared total (what budgets are checked against) agrees with Postgres.
          const info = await api(b.url, 'GET', `/key/info?key=${key.key}`)
          expect(Math.abs(info.json.info.spend - (now?.spend ?? 0))).toBeLessThan(EPSILON)
        }
      }
      await check()
      // A retried batch must not add anything later either.
      await sleep(1500)
      await check()

      probing = false
      await prober
      const outage = probes.filter((p) => p.at >= cutAt && p.at <= restoredAt)
      expect(outage.length).toBeGreaterThanOrEqual(10)
      expect(probes.filter((p) => !p.ok)).toEqual([])
      expect(c.child.exitCode).toBeNull()
      expect((await chat(c.url, keys[0]?.key ?? '')).status).toBe(200)
      console.info(
        `multi-instance: Postgres cut (${mode}) for ${restoredAt - cutAt} ms; 60 queued calls in Postgres ${recoveredMs} ms after restore`,
      )
    }, 120_000)
  }
})
