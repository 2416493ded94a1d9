import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger'
import { writeSpendBatch } from '../../src/spend/spend-batch-sql'
import { createSpendService } from '../../src/spend/spend-service'
import type { SpendRecord } from '../../src/spend/spend-types'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import {
  emptyGatewayConfig,
  manualTimers,
  migratedPglite,
  truncateSpendTables,
} from '../helpers/in-process-gateway'
import { spendRecord } from '../helpers/spend-record'

const config = emptyGatewayConfig()

let sql: Sql
beforeAll(async () => {
  sql = await migratedPglite()
})
afterAll(() => sql.close())
beforeEach(async () => {
  await truncateSpendTables(sql)
  await sql.query(
    `INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id, spend, model_spend)
     VALUES ('k1', 'u1', 't1', 1, '{"gpt": 1}')`,
  )
  await sql.query(`INSERT INTO "LiteLLM_UserTable" (user_id, spend) VALUES ('u1', 2)`)
  await sql.query(`INSERT INTO "LiteLLM_TeamTable" (team_id, spend) VALUES ('t1', 3)`)
})

let seq = 0
function call(spend: number, over: Partial<SpendRecord> = {}): SpendRecord {
  const start = new Date('2025-03-04T10:00:00.000Z')
  return spendRecord(spend, {
    requestId: `req-${++seq}`,
    startTime: start,
    endTime: new Date(start.getTime() + 250),
    completionStartTime: new Date(start.getTime() + 100),
    model: 'provider-model',
    modelId: 'dep-1',
    ...over,
  })
}

async function spendOf() {
  const [key] = await sql.query<{ spend: number; model_spend: Record<string, number> }>(
    `SELECT spend, model_spend FROM "LiteLLM_VerificationToken" WHERE token = 'k1'`,
  )
  const [user] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_UserTable"`)
  const [team] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_TeamTable"`)
  const [logs] = await sql.query<{ n: number; total: number | null }>(
    `SELECT count(*)::int AS n, sum(spend) AS total FROM "LiteLLM_SpendLogs"`,
  )
  return {
    key: key?.spend,
    modelSpend: key?.model_spend,
    user: user?.spend,
    team: team?.spend,
    logs: logs ?? { n: -1, total: null },
  }
}

describe('batch write', () => {
  it('inserts the rows and adds exactly their spend to key, key × model, user and team', async () => {
    const rows = [
      call(0.1),
      call(0.2, { modelGroup: 'claude' }),
      call(0.3),
      call(0, { status: 'failure', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } }),
    ]
    expect(await writeSpendBatch(sql, rows)).toEqual({ inserted: 4, keys: 1, users: 1, teams: 1 })
    const after = await spendOf()
    expect(after.key).toBeCloseTo(1.6, 12)
    expect(after.modelSpend?.gpt).toBeCloseTo(1.4, 12)
    expect(after.modelSpend?.claude).toBeCloseTo(0.2, 12)
    expect(after.user).toBeCloseTo(2.6, 12)
    expect(after.team).toBeCloseTo(3.6, 12)
    expect(after.logs).toEqual({ n: 4, total: expect.closeTo(0.6, 12) })
    const [failure] = await sql.query(
      `SELECT status, spend, "startTime", "completionStartTime", request_duration_ms, "user", team_id
       FROM "LiteLLM_SpendLogs" WHERE request_id = $1`,
      [rows[3]?.requestId],
    )
    expect(failure).toEqual({
      status: 'failure',
      spend: 0,
      startTime: new Date('2025-03-04T10:00:00.000Z'),
      completionStartTime: new Date('2025-03-04T10:00:00.100Z'),
      request_duration_ms: 250,
      user: 'u1',
      team_id: 't1',
    })
  })

  it('the same batch written again (retry after an ambiguous failure) counts nothing twice', async () => {
    const rows = [call(0.25), call(0.5)]
    await writeSpendBatch(sql, rows)
    const once = await spendOf()
    expect(await writeSpendBatch(sql, [...rows, call(0.125)])).toMatchObject({ inserted: 1 })
    const after = await spendOf()
    expect(once.key).toBe(1.75)
    expect(after.key).toBe(1.875)
    expect(after.user).toBe(2.875)
    expect(after.team).toBe(3.875)
    expect(after.modelSpend).toEqual({ gpt: 1.875 })
    expect(after.logs.n).toBe(3)
  })

  it('client strings Postgres would reject (NUL, lone surrogate) do not make the batch unwritable', async () => {
    const row = call(0.5, { endUser: 'ab\u0000c\uD800', metadata: { alias: 'x\u0000' } })
    expect(await writeSpendBatch(sql, [row])).toMatchObject({ inserted: 1 })
    const [log] = await sql.query(`SELECT end_user, metadata FROM "LiteLLM_SpendLogs"`)
    expect(log).toEqual({ end_user: 'abc\uFFFD', metadata: { alias: 'x' } })
  })

  it('master-key calls are logged with its hash, and change no key row', async () => {
    await writeSpendBatch(sql, [call(0.5, { apiKey: 'master-hash', userId: null, teamId: null })])
    const after = await spendOf()
    expect(after).toMatchObject({ key: 1, user: 2, team: 3, logs: { n: 1, total: 0.5 } })
    const [log] = await sql.query(`SELECT api_key FROM "LiteLLM_SpendLogs"`)
    expect(log).toEqual({ api_key: 'master-hash' })
  })
})

/** A Sql whose batch statement fails while `failing` is set; `commitThenFail` commits first (lost reply). */
function flakySql(inner: Sql) {
  const state = { failing: false, commitThenFail: false, attempts: 0 }
  const isBatch = (text: string) => text.includes('jsonb_to_recordset($1::jsonb) AS r(')
  const wrapped: Sql = {
    kind: inner.kind,
    async query(text, params) {
      if (isBatch(text)) {
        state.attempts++
        if (state.failing) throw new Error('connection refused')
        if (state.commitThenFail) {
          state.commitThenFail = false
          await inner.query(text, params)
          throw new Error('connection reset before the reply')
        }
      }
      return inner.query(text, params)
    },
    transaction: (statements) => inner.transaction(statements),
    close: async () => {},
  }
  return { sql: wrapped, state }
}

describe('spend service flushes', () => {
  const fast = { baseMs: 1, maxMs: 5 }

  it('every proxy_batch_write_at seconds: one timer writes everything queued', async () => {
    const { timers, tick, tasks, registered } = manualTimers()
    const cfg = { ...config, generalSettings: { proxy_batch_write_at: 3 } }
    const counters = memoryCounters()
    const service = createSpendService({
      stores: { sql, counters },
      config: cfg,
      logger: silentLogger,
      timers,
      clock: Date.now,
    })
    expect(registered).toContain(3000)
    const pending: Promise<unknown>[] = []
    for (const cost of [0.5, 0.25]) service.record(call(cost), (p) => pending.push(p))
    await Promise.all(pending)
    expect((await spendOf()).logs.n).toBe(0)
    await tick()
    expect(await spendOf()).toMatchObject({ key: 1.75, logs: { n: 2 } })
    await service.close()
    expect(tasks).toHaveLength(0)
  })

  it('keeps the batch while Postgres is down, merges new rows, and writes all once it is back', async () => {
    const flaky = flakySql(sql)
    const { timers, tick } = manualTimers()
    let now = 1_000_000
    const service = createSpendService({
      stores: { sql: flaky.sql, counters: memoryCounters() },
      config,
      logger: silentLogger,
      timers,
      clock: () => now,
      retry: { baseMs: 1000, maxMs: 8000 },
    })
    flaky.state.failing = true
    service.record(call(0.5))
    await service.flush(AbortSignal.timeout(50)).catch(() => {})
    expect(flaky.state.attempts).toBe(1)
    service.record(call(0.25))
    await new Promise((r) => setTimeout(r, 5))
    await tick() // inside the backoff: no attempt
    expect(flaky.state.attempts).toBe(1)
    now += 1000
    await tick()
    expect(flaky.state.attempts).toBe(2)
    expect((await spendOf()).logs.n).toBe(0)
    flaky.state.failing = false
    service.record(call(0.125))
    now += 2000
    await service.flush()
    expect(await spendOf()).toMatchObject({ key: 1.875, user: 2.875, team: 3.875, logs: { n: 3 } })
  })

  it('a flush whose commit succeeded but whose reply was lost is retried without double counting', async () => {
    const flaky = flakySql(sql)
    const service = createSpendService({
      stores: { sql: flaky.sql, counters: memoryCounters() },
      config,
      logger: silentLogger,
      timers: manualTimers().timers,
      clock: Date.now,
      retry: fast,
    })
    flaky.state.commitThenFail = true
    service.record(call(0.5))
    service.record(call(0.25))
    await service.flush()
    expect(flaky.state.attempts).toBe(2)
    expect(await spendOf()).toMatchObject({ key: 1.75, user: 2.75, team: 3.75, logs: { n: 2 } })
  })

  it('without timers (Workers, Lambda) each record writes the queue through waitUntil', async () => {
    const service = createSpendService({
      stores: { sql, counters: memoryCounters() },
      config,
      logger: silentLogger,
      clock: Date.now,
    })
    const pending: Promise<unknown>[] = []
    service.record(call(0.5), (p) => pending.push(p))
    service.record(call(0.25), (p) => pending.push(p))
    expect(pending).toHaveLength(2)
    await Promise.all(pending)
    expect(await spendOf()).toMatchObject({ key: 1.75, logs: { n: 2 } })
  })

  it('close() stops the timers and writes what is queued', async () => {
    const { timers, tasks } = manualTimers()
    const service = createSpendService({
      stores: { sql, counters: memoryCounters() },
      config,
      logger: silentLogger,
      timers,
      clock: Date.now,
    })
    expect(tasks.length).toBeGreaterThan(0)
    service.record(call(0.5))
    await service.close()
    expect(tasks).toHaveLength(0)
    expect(await spendOf()).toMatchObject({ key: 1.5, logs: { n: 1 } })
  })
})
