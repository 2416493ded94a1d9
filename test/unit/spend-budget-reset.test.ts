import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../src/observability/logger'
import { resetDueBudgets } from '../../src/spend/budget-reset'
import { BUDGET_RESET_EVERY_MS, createSpendService } from '../../src/spend/spend-service'
import { createSpendTotals } from '../../src/spend/spend-totals'
import type { SpendEntity, SpendRecord } from '../../src/spend/spend-types'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import {
  emptyGatewayConfig,
  idleTimers,
  manualTimers,
  migratedPglite,
  truncateSpendTables,
} from '../helpers/in-process-gateway'
import { spendRecord } from '../helpers/spend-record'

const config = emptyGatewayConfig()

const NOW = Date.parse('2025-06-10T15:30:00.000Z')
const PAST = '2025-06-10 00:00:00'
const FUTURE = '2025-06-11 00:00:00'
const KEY: SpendEntity = { kind: 'key', id: 'k1' }
const USER: SpendEntity = { kind: 'user', id: 'u1' }
const TEAM: SpendEntity = { kind: 'team', id: 't1' }

let sql: Sql
let counters: Counters
beforeAll(async () => {
  sql = await migratedPglite()
})
afterAll(() => sql.close())
beforeEach(async () => {
  counters = memoryCounters()
  await truncateSpendTables(sql)
  await sql.query(
    `INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id, spend, budget_duration, budget_reset_at)
     VALUES ('k1', 'u1', 't1', 10, '1d', $1), ('k2', NULL, NULL, 4, '1d', $2)`,
    [PAST, FUTURE],
  )
  await sql.query(
    `INSERT INTO "LiteLLM_UserTable" (user_id, spend, budget_duration, budget_reset_at) VALUES ('u1', 20, '1h', $1)`,
    [PAST],
  )
  await sql.query(
    `INSERT INTO "LiteLLM_TeamTable" (team_id, spend, budget_duration, budget_reset_at) VALUES ('t1', 30, '1mo', $1)`,
    [PAST],
  )
})

function call(spend: number): SpendRecord {
  return spendRecord(spend, {
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    startTime: new Date(NOW),
    endTime: new Date(NOW),
  })
}

async function rows() {
  return sql.query(
    `SELECT token AS id, spend, budget_reset_at FROM "LiteLLM_VerificationToken"
     UNION ALL SELECT user_id, spend, budget_reset_at FROM "LiteLLM_UserTable"
     UNION ALL SELECT team_id, spend, budget_reset_at FROM "LiteLLM_TeamTable" ORDER BY id`,
  )
}

describe('budget reset', () => {
  it('zeroes due keys, users and teams and schedules their next reset from budget_duration', async () => {
    const totals = createSpendTotals({ sql, counters })
    const invalidated: string[][] = []
    const result = await resetDueBudgets({
      sql,
      totals,
      logger: silentLogger,
      clock: () => NOW,
      invalidateKeys: async (tokens) => {
        invalidated.push([...tokens])
      },
    })
    expect(result).toEqual({ key: ['k1'], user: ['u1'], team: ['t1'] })
    expect(await rows()).toEqual([
      { id: 'k1', spend: 0, budget_reset_at: new Date('2025-06-11T00:00:00.000Z') },
      { id: 'k2', spend: 4, budget_reset_at: new Date('2025-06-11T00:00:00.000Z') },
      { id: 't1', spend: 0, budget_reset_at: new Date('2025-07-01T00:00:00.000Z') },
      { id: 'u1', spend: 0, budget_reset_at: new Date('2025-06-10T16:30:00.000Z') },
    ])
    expect(invalidated).toEqual([['k1']])
  })

  it('totals drop by what was zeroed and keep the unflushed spend, which Postgres then gets too', async () => {
    const svc = createSpendService({
      stores: { sql, counters },
      config,
      logger: silentLogger,
      timers: idleTimers,
      clock: () => NOW,
    })
    const pending: Promise<unknown>[] = []
    svc.record(call(1.5), (p) => pending.push(p)) // seeds k1 at 10 + 1.5, unflushed
    await Promise.all(pending)
    expect(await svc.totals.current([KEY, USER, TEAM])).toEqual([11.5, 21.5, 31.5])
    await resetDueBudgets({
      sql,
      totals: createSpendTotals({ sql, counters }),
      logger: silentLogger,
      clock: () => NOW,
    })
    expect(await svc.totals.current([KEY, USER, TEAM])).toEqual([1.5, 1.5, 1.5])
    await svc.flush()
    expect((await rows()).map((r) => r.spend)).toEqual([1.5, 4, 1.5, 1.5])
  })

  it('two instances resetting at once reset each period once (the second finds nothing due)', async () => {
    const totals = createSpendTotals({ sql, counters })
    expect(await totals.current([KEY])).toEqual([10])
    await totals.add([KEY], 2) // spend since: must survive both resets
    const run = () => resetDueBudgets({ sql, totals, logger: silentLogger, clock: () => NOW })
    const [first, second] = await Promise.all([run(), run()])
    expect([...first.key, ...second.key]).toEqual(['k1'])
    expect(await totals.current([KEY])).toEqual([2])
  })

  it('a total seeded after the reset is already fresh and is not pushed below zero', async () => {
    const totals = createSpendTotals({ sql, counters })
    await totals.subtractReset([{ entity: KEY, spend: 10 }]) // no total: nothing to do
    expect(await counters.get('spend:key:k1')).toBeNull()
    await counters.set('spend:key:k1', '3')
    await totals.subtractReset([{ entity: KEY, spend: 10 }])
    expect(await counters.get('spend:key:k1')).toBe('0')
  })

  it('an invalid budget_duration is skipped with a warning instead of failing the run', async () => {
    await sql.query(`UPDATE "LiteLLM_UserTable" SET budget_duration = 'weekly'`)
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) }
    const result = await resetDueBudgets({
      sql,
      totals: createSpendTotals({ sql, counters }),
      logger,
      clock: () => NOW,
    })
    expect(result).toEqual({ key: ['k1'], user: [], team: ['t1'] })
    expect(warnings).toEqual(['budget not reset: invalid budget_duration'])
  })

  it('runs every minute on a timer, and lazily (started, never awaited, by the budget read) without one', async () => {
    const { timers, registered, tick } = manualTimers()
    const invalidated: string[] = []
    const keys = { invalidate: async (tokens: readonly string[]) => void invalidated.push(...tokens) }
    createSpendService({
      stores: { sql, counters },
      config,
      logger: silentLogger,
      timers,
      clock: () => NOW,
      keys,
    })
    expect(registered).toContain(BUDGET_RESET_EVERY_MS)
    await tick()
    expect((await rows()).map((r) => r.spend)).toEqual([0, 4, 0, 0])
    expect(invalidated).toEqual(['k1'])

    await sql.query(
      `UPDATE "LiteLLM_VerificationToken" SET spend = 9, budget_reset_at = $1 WHERE token = 'k1'`,
      [PAST],
    )
    let now = NOW
    const lazy = createSpendService({
      stores: { sql, counters: memoryCounters() },
      config,
      logger: silentLogger,
      clock: () => now,
    })
    await vi.waitFor(async () => expect(await lazy.totals.current([KEY])).toEqual([0]))
    await sql.query(
      `UPDATE "LiteLLM_VerificationToken" SET spend = 9, budget_reset_at = $1 WHERE token = 'k2'`,
      [PAST],
    )
    now += BUDGET_RESET_EVERY_MS - 1
    expect(await lazy.totals.current([{ kind: 'key', id: 'k2' }])).toEqual([9]) // not checked again yet
  })

  it('disable_reset_budget turns resets off', async () => {
    const { timers, tick } = manualTimers()
    const off = { ...config, generalSettings: { disable_reset_budget: true } }
    createSpendService({
      stores: { sql, counters },
      config: off,
      logger: silentLogger,
      timers,
      clock: () => NOW,
    })
    await tick()
    expect((await rows()).map((r) => r.spend)).toEqual([10, 4, 30, 20])
  })
})
