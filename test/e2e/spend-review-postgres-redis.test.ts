/**
 * Findings 1, 4 and 6 of the spend review on the real services: rows Postgres refuses (a 4 KB
 * `user` over the end_user btree index, a constraint) are isolated by the writer with the real pg
 * driver's errors, an unreachable Postgres keeps everything queued, the guarded reset subtraction
 * matches its in-memory twin, and ioredis does not re-send a script whose reply was lost.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { pgSql } from '../../adapters/node/stores/pg-sql'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import type { Logger } from '../../src/observability/logger'
import { SpendQueue } from '../../src/spend/spend-queue'
import { addIfPresentScript, seedScript, subtractResetOnceScript } from '../../src/spend/spend-scripts'
import type { SpendRecord } from '../../src/spend/spend-types'
import { SpendWriter } from '../../src/spend/spend-writer'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { migrate } from '../../src/store/migrate'
import type { Sql } from '../../src/store/sql'
import {
  type FreshDatabase,
  freshDatabase,
  postgres,
  redis,
  redisUrl,
  requireOrSkip,
} from '../helpers/services'
import { spendRecord } from '../helpers/spend-record'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy'

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
const run = randomBytes(4).toString('hex')

describe.runIf(requireOrSkip('spend review on Postgres', postgres))('spend review 1b on Postgres', () => {
  let db: FreshDatabase
  let sql: Sql
  let proxy: TcpProxy
  let viaProxy: Sql

  beforeAll(async () => {
    db = await freshDatabase()
    sql = pgSql(db.url)
    await migrate(sql)
    await sql.query(`
      CREATE FUNCTION spend_review_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id LIKE 'doomed%' THEN RAISE EXCEPTION 'doomed row' USING ERRCODE = '23514'; END IF;
        RETURN NEW;
      END $$`)
    await sql.query(`CREATE TRIGGER spend_review_refuse BEFORE INSERT ON "LiteLLM_SpendLogs"
      FOR EACH ROW EXECUTE FUNCTION spend_review_refuse()`)
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 })
    const url = new URL(db.url)
    url.host = `${proxy.host}:${proxy.port}`
    viaProxy = pgSql(url.toString(), { max: 2 })
  })
  afterAll(async () => {
    await viaProxy?.close().catch(() => {})
    await proxy?.close()
    await sql?.close()
    await db?.drop()
  })
  beforeEach(async () => {
    await sql.query(`TRUNCATE "LiteLLM_SpendLogs", "LiteLLM_VerificationToken"`)
    await sql.query(`INSERT INTO "LiteLLM_VerificationToken" (token, spend) VALUES ('k1', 0)`)
  })

  const call = (i: number, over: Partial<SpendRecord> = {}) =>
    spendRecord(0.01, { requestId: `r${i}-${run}`, userId: null, teamId: null, ...over })
  const count = async () =>
    (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"`))[0]?.n

  it('a 4 KB random `user` among 50 rows: all 50 are written in one pass (end_user cut to 256)', async () => {
    const queue = new SpendQueue(1000, recordingLogger())
    const writer = new SpendWriter(sql, queue, recordingLogger(), () => 0, NO_BACKOFF)
    queue.push(call(0, { endUser: randomBytes(3000).toString('base64') }))
    for (let i = 1; i < 50; i++) queue.push(call(i, { endUser: 'ok' }))
    expect(await writer.writeQueued()).toBe(true)
    expect(queue.size).toBe(0)
    expect(await count()).toBe(50)
    const [long] = await sql.query<{ n: number }>(
      `SELECT length(end_user) AS n FROM "LiteLLM_SpendLogs" WHERE request_id = $1`,
      [`r0-${run}`],
    )
    expect(long?.n).toBe(256)
  })

  it('a row refused by a constraint is dropped with an error log; the other rows are written', async () => {
    const logger = recordingLogger()
    const queue = new SpendQueue(1000, logger)
    const writer = new SpendWriter(sql, queue, logger, () => 0, NO_BACKOFF)
    for (let i = 0; i < 20; i++)
      queue.push(call(i, i === 7 ? { requestId: `doomed-${run}`, spend: 0.5 } : {}))
    expect(await writer.writeQueued()).toBe(true)
    expect(await count()).toBe(19)
    const [key] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_VerificationToken"`)
    expect(key?.spend).toBeCloseTo(0.19, 12)
    const errors = logger.lines.filter((l) => l.level === 'error')
    expect(errors.map((e) => e.fields)).toEqual([
      expect.objectContaining({ request_id: `doomed-${run}`, spend: 0.5 }),
    ])
  })

  it('an unreachable Postgres keeps every row queued: nothing split, nothing dropped', async () => {
    const logger = recordingLogger()
    const queue = new SpendQueue(1000, logger)
    const writer = new SpendWriter(viaProxy, queue, logger, () => 0, NO_BACKOFF)
    for (let i = 0; i < 10; i++) queue.push(call(i))
    proxy.cut('refuse')
    try {
      expect(await writer.writeQueued()).toBe(false)
      expect(queue.size).toBe(10)
      expect(logger.lines.filter((l) => l.level === 'error')).toEqual([])
      expect(logger.lines.map((l) => l.message)).not.toContain(
        'spend batch refused by Postgres; writing it in smaller parts',
      )
    } finally {
      proxy.restore()
    }
    expect(await writer.writeQueued()).toBe(true)
    expect(await count()).toBe(10)
  })
})

describe.runIf(requireOrSkip('spend review on Redis', redis))('spend review 4 and 6 on Redis', () => {
  let real: Counters
  beforeAll(async () => {
    real = await redisCounters(redisUrl)
  })
  afterAll(() => real?.close())

  it('the guarded reset subtraction and its in-memory twin give the same results', async () => {
    const memory = memoryCounters()
    const totals = [`spend:review-a:${run}`, `spend:review-b:${run}`, `spend:review-c:${run}`]
    const guards = totals.map((t) => `reset-applied:${t}:2025-05-02T00:00:00.000Z`)
    const steps = async (c: Counters) => [
      await c.run(seedScript, totals.slice(0, 2), [60, '5', '2', '1', '0']),
      // a: 7 - 5 = 2; b: 1 - 3 floored at 0; c: no total, the guard is set all the same.
      await c.run(subtractResetOnceScript, [...totals, ...guards], [60, '-5', '-3', '-1']),
      await c.mget(totals),
      // Sent again (a lost reply): every guard is set, nothing moves.
      await c.run(subtractResetOnceScript, [...totals, ...guards], [60, '-5', '-3', '-1']),
      await c.mget(totals),
      (await c.ttl(guards[0] as string)) > 0,
      (await c.ttl(totals[0] as string)) > 0,
    ]
    try {
      const expected = await steps(memory)
      expect(expected[1]).toBe(3)
      expect(expected[2]).toEqual(['2', '0', null])
      expect(expected[3]).toBe(0)
      expect(await steps(real)).toEqual(expected)
    } finally {
      await real.del([...totals, ...guards])
    }
  })

  it('ioredis does not re-send an EVALSHA whose reply was lost (the add is counted once)', async () => {
    let dropNextReply = false
    const sockets = new Set<net.Socket>()
    const proxy = net.createServer((client) => {
      const upstream = net.connect(6379, '127.0.0.1')
      sockets.add(client).add(upstream)
      let armed = false
      client.on('data', (data) => {
        if (dropNextReply && /evalsha/i.test(data.toString())) {
          armed = true
          dropNextReply = false
        }
        upstream.write(data)
      })
      upstream.on('data', (data) => {
        if (armed) {
          client.destroy()
          upstream.destroy()
          return
        }
        client.write(data)
      })
      client.on('error', () => {})
      upstream.on('error', () => {})
      client.on('close', () => upstream.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
    const port = (proxy.address() as net.AddressInfo).port
    const counters = await redisCounters(`redis://127.0.0.1:${port}`)
    const key = `spend:review-resend:${run}`
    try {
      await counters.run(seedScript, [key], [60, '10', '0'])
      dropNextReply = true
      await expect(counters.run(addIfPresentScript, [key], [60, '1'])).rejects.toThrow()
      await new Promise((resolve) => setTimeout(resolve, 500)) // time for a reconnect and a re-send
      expect(await real.get(key)).toBe('11')
    } finally {
      await real.del([key])
      await counters.close()
      for (const socket of sockets) socket.destroy()
      proxy.close()
    }
  })
})
