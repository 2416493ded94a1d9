/**
 * Finding 1 of the spend review: one row must never wedge all spend writes. Free text is bounded
 * before it reaches a row, a statement refused for its data is split down to the row at fault (which
 * is written without its free text, else dropped with an error log), chunks are bounded in bytes,
 * odd `model_spend` values of adopted LiteLLM databases are merged around, and a pass that hangs
 * gives the writer back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Logger } from '../../src/observability/logger'
import { writeSpendBatch } from '../../src/spend/spend-batch-sql'
import { MAX_END_USER_CHARS, MAX_METADATA_BYTES } from '../../src/spend/spend-bounds'
import { SpendQueue } from '../../src/spend/spend-queue'
import { createSpendService } from '../../src/spend/spend-service'
import { createSpendTotals } from '../../src/spend/spend-totals'
import type { SpendRecord } from '../../src/spend/spend-types'
import { MAX_STATEMENT_BYTES, SpendWriter } from '../../src/spend/spend-writer'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Row, Sql } from '../../src/store/sql'
import {
  createInProcessApp,
  emptyGatewayConfig,
  idleTimers,
  migratedPglite,
  truncateSpendTables,
  waitUntilQueue,
} from '../helpers/in-process-gateway'
import { spendRecord } from '../helpers/spend-record'

interface Logged {
  level: string
  message: string
  fields: Record<string, unknown>
}

function recordingLogger(): Logger & { lines: Logged[] } {
  const lines: Logged[] = []
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, message, fields })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const NO_BACKOFF = { baseMs: 0, maxMs: 0 }

let sql: Sql
beforeAll(async () => {
  sql = await migratedPglite()
  // Postgres refusing single rows for their data, as a trigger: `model = 'poison'` (refused while
  // the row has its free text) and request ids starting with `doomed` (refused whatever it holds).
  await sql.query(`
    CREATE FUNCTION spend_review_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.model = 'poison' THEN RAISE EXCEPTION 'poisoned model' USING ERRCODE = '22023'; END IF;
      IF NEW.request_id LIKE 'doomed%' THEN RAISE EXCEPTION 'doomed row' USING ERRCODE = '23514'; END IF;
      RETURN NEW;
    END $$`)
  await sql.query(`CREATE TRIGGER spend_review_refuse BEFORE INSERT ON "LiteLLM_SpendLogs"
    FOR EACH ROW EXECUTE FUNCTION spend_review_refuse()`)
})
afterAll(() => sql.close())
beforeEach(async () => {
  await truncateSpendTables(sql)
  await sql.query(`INSERT INTO "LiteLLM_VerificationToken" (token, spend) VALUES ('k1', 0)`)
})

const rows = () =>
  sql.query<{ request_id: string; model: string; end_user: string | null; metadata: Row; spend: number }>(
    `SELECT request_id, model, end_user, metadata, spend FROM "LiteLLM_SpendLogs" ORDER BY request_id`,
  )
const keySpend = async () =>
  (await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = 'k1'`))[0]
    ?.spend

const call = (i: number, over: Partial<SpendRecord> = {}) =>
  spendRecord(0.01, { requestId: `r${String(i).padStart(3, '0')}`, userId: null, teamId: null, ...over })

describe('spend review 1a: free text is bounded before it reaches a row', () => {
  it('refuses a request `user` longer than 256 characters with a 400', async () => {
    const app = await createInProcessApp(sql, {
      config: 'model_list:\n  - model_name: m\n    litellm_params: { model: mock/x }\n',
      masterKey: 'sk-master-review',
    })
    const { waitUntil, settle } = waitUntilQueue()
    const send = (user: string) =>
      app.fetch(
        new Request('http://gw/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: 'Bearer sk-master-review', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', user, messages: [{ role: 'user', content: 'hi' }] }),
        }),
        { waitUntil },
      )
    const refused = await send('u'.repeat(257))
    expect(refused.status).toBe(400)
    expect((await refused.json()).error.param).toBe('user')
    expect((await send('u'.repeat(256))).status).toBe(200)
    await settle()
    await app.close()
  })

  it('truncates end_user to 256 characters and replaces metadata over 16 KB by a marker', async () => {
    const svc = createSpendService({
      stores: { sql, counters: memoryCounters() },
      config: emptyGatewayConfig(),
      logger: recordingLogger(),
      timers: idleTimers,
      clock: Date.now,
    })
    const huge = { user_api_key: 'k1', litellm_call_id: 'c1', blob: 'x'.repeat(MAX_METADATA_BYTES) }
    svc.record(call(1, { endUser: `${'é'.repeat(300)}`, metadata: huge, model: 'm'.repeat(5000) }))
    await svc.flush()
    const [row] = await rows()
    expect(row?.end_user).toBe('é'.repeat(MAX_END_USER_CHARS))
    expect(row?.model).toHaveLength(512)
    expect(row?.metadata).toEqual({
      metadata_truncated: true,
      metadata_bytes: expect.any(Number),
      user_api_key: 'k1',
      litellm_call_id: 'c1',
    })
    expect(await keySpend()).toBeCloseTo(0.01, 12)
    await svc.close()
  })

  it('rows with a 16 MB `user` (queued directly, bypassing the request checks) no longer wedge the writer', async () => {
    const big = 'x'.repeat(16_500_000)
    const queue = new SpendQueue(1000, recordingLogger())
    const writer = new SpendWriter(sql, queue, recordingLogger(), () => 0, NO_BACKOFF)
    for (let i = 0; i < 33; i++) queue.push(call(i, { endUser: big }))
    queue.push(call(999, { endUser: 'normal-user' }))
    expect(await writer.writeQueued()).toBe(true)
    expect(queue.size).toBe(0)
    expect(await rows()).toHaveLength(34)
    expect(await keySpend()).toBeCloseTo(0.34, 12)
  })
})

describe('spend review 1b: a row refused for its data is isolated', () => {
  it('splits the chunk, writes the others in the same pass and the refused row without its free text', async () => {
    const logger = recordingLogger()
    const queue = new SpendQueue(1000, logger)
    const writer = new SpendWriter(sql, queue, logger, () => 0, NO_BACKOFF)
    for (let i = 0; i < 50; i++) queue.push(call(i, i === 17 ? { model: 'poison', endUser: 'e' } : {}))
    expect(await writer.writeQueued()).toBe(true)
    expect(queue.size).toBe(0)
    const written = await rows()
    expect(written).toHaveLength(50)
    expect(written.find((r) => r.request_id === 'r017')).toMatchObject({
      model: '',
      end_user: null,
      metadata: { metadata_cleared: true },
      spend: 0.01,
    })
    expect(await keySpend()).toBeCloseTo(0.5, 12)
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([])
    expect(logger.lines.map((l) => l.message)).toContain(
      'spend row written without its free text (model, end user, metadata): Postgres refused it',
    )
  })

  it('drops a row refused even without its free text, with an error log naming request_id and spend', async () => {
    const logger = recordingLogger()
    const queue = new SpendQueue(1000, logger)
    const writer = new SpendWriter(sql, queue, logger, () => 0, NO_BACKOFF)
    queue.push(call(1))
    queue.push(call(2, { requestId: 'doomed-1', spend: 0.25 }))
    queue.push(call(3))
    expect(await writer.writeQueued()).toBe(true)
    expect(queue.size).toBe(0)
    expect((await rows()).map((r) => r.request_id)).toEqual(['r001', 'r003'])
    expect(await keySpend()).toBeCloseTo(0.02, 12)
    const errors = logger.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.fields).toMatchObject({ request_id: 'doomed-1', spend: 0.25 })
    // Later rows flow as usual.
    queue.push(call(4))
    expect(await writer.writeQueued()).toBe(true)
    expect(await rows()).toHaveLength(3)
  })

  it('keeps everything queued (no split, no drop) while Postgres is unavailable', async () => {
    for (const failure of [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      new Error('Connection terminated unexpectedly'),
      new TypeError('fetch failed'),
    ]) {
      const logger = recordingLogger()
      const queue = new SpendQueue(1000, logger)
      let statements = 0
      const down: Sql = {
        ...sql,
        kind: sql.kind,
        query: async () => {
          statements++
          throw failure
        },
      }
      const writer = new SpendWriter(down, queue, logger, () => 0, NO_BACKOFF)
      for (let i = 0; i < 10; i++) queue.push(call(i))
      expect(await writer.writeQueued()).toBe(false)
      expect(statements).toBe(1)
      expect(queue.size).toBe(10)
      expect(logger.lines.filter((l) => l.level === 'error')).toEqual([])
    }
  })

  it('chunks by bytes as well as rows (≤ 2 MB of JSON per statement)', async () => {
    const sizes: number[] = []
    const spy: Sql = {
      ...sql,
      kind: sql.kind,
      query: (text, params) => {
        if (typeof params?.[0] === 'string') sizes.push(Buffer.byteLength(params[0]))
        return sql.query(text, params)
      },
    }
    const queue = new SpendQueue(1000, recordingLogger())
    const writer = new SpendWriter(spy, queue, recordingLogger(), () => 0, NO_BACKOFF)
    // 400 rows of ~15 KB metadata each (under the 16 KB bound): ~6 MB, far below 2,000 rows.
    for (let i = 0; i < 400; i++) queue.push(call(i, { metadata: { note: 'n'.repeat(15_000) } }))
    expect(await writer.writeQueued()).toBe(true)
    expect(sizes.length).toBeGreaterThanOrEqual(3)
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_STATEMENT_BYTES)
    expect(await rows()).toHaveLength(400)
  })
})

describe('spend review 1c: model_spend of adopted LiteLLM databases', () => {
  it('merges around JSON null, arrays and non-numeric entries instead of failing the batch', async () => {
    await sql.query(
      `INSERT INTO "LiteLLM_VerificationToken" (token, model_spend) VALUES
        ('a', 'null'::jsonb), ('b', '{"gpt": "n/a", "other": "keep"}'::jsonb), ('c', '[1, 2]'::jsonb),
        ('d', '{"gpt": 1e400, "x": 2}'::jsonb)`,
    )
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) {
      expect(await writeSpendBatch(sql, [call(i, { apiKey: key })])).toMatchObject({ inserted: 1, keys: 1 })
    }
    const spends = await sql.query<{ token: string; model_spend: unknown }>(
      `SELECT token, model_spend FROM "LiteLLM_VerificationToken" WHERE token IN ('a', 'b', 'c', 'd') ORDER BY token`,
    )
    expect(spends.map((r) => r.model_spend)).toEqual([
      { gpt: 0.01 },
      { gpt: 0.01, other: 'keep' },
      { gpt: 0.01 },
      { gpt: 0.01, x: 2 },
    ])
    // Seeding the per-model totals from such rows works too.
    await sql.query(`UPDATE "LiteLLM_VerificationToken" SET model_spend = '{"gpt": "n/a"}' WHERE token = 'b'`)
    const totals = createSpendTotals({ sql, counters: memoryCounters() })
    expect(await totals.current([{ kind: 'key-model', id: 'b', model: 'gpt' }])).toEqual([0])
  })
})

describe('spend review 5: a writer pass has a time limit', () => {
  it('gives up a statement that never answers, keeps its rows, and lets the next pass run', async () => {
    let hang = true
    const sometimesHung: Sql = {
      ...sql,
      kind: sql.kind,
      query: (text, params) => (hang ? new Promise<never>(() => {}) : sql.query(text, params)),
    }
    const logger = recordingLogger()
    const queue = new SpendQueue(1000, logger)
    const writer = new SpendWriter(sometimesHung, queue, logger, () => 0, NO_BACKOFF, 200)
    queue.push(call(1))
    const started = performance.now()
    expect(await writer.writeQueued()).toBe(false)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(queue.size).toBe(1)
    hang = false
    expect(await writer.writeQueued()).toBe(true)
    expect(await rows()).toHaveLength(1)
  })
})
