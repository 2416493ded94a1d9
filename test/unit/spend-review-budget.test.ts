/**
 * Findings 3, 4, 5 and 7 of the spend review: per-model budgets reset with their key, a failed
 * counters step after a committed budget reset is retried (and applied once), the budget-reset run
 * never holds a request on runtimes without timers, the key-spend header needs no extra read,
 * queries and passes have deadlines, and the reset query and spend summaries are ordered and bounded.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { spendLogDays } from '../../src/http/spend-logs'
import { spendReport } from '../../src/http/spend-report'
import type { Logger } from '../../src/observability/logger'
import { ResetFollowUps, resetDueBudgets } from '../../src/spend/budget-reset'
import { createSpendService } from '../../src/spend/spend-service'
import { createSpendTotals } from '../../src/spend/spend-totals'
import type { SpendEntity } from '../../src/spend/spend-types'
import type { CounterScript, Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { neonSql } from '../../src/store/neon-sql'
import type { Sql } from '../../src/store/sql'
import {
  createInProcessApp,
  emptyGatewayConfig,
  manualTimers,
  migratedPglite,
  truncateSpendTables,
  waitUntilQueue,
} from '../helpers/in-process-gateway'

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

const MASTER = 'sk-master-review-budget'
const CONFIG = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/x, mock_response: hi }
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
`
const COST = 0.05 // mock usage: 10 × 0.001 + 20 × 0.002

const NOW = Date.parse('2025-05-02T12:00:00.000Z')
const KEY: SpendEntity = { kind: 'key', id: 'h1' }
const KEY_GPT: SpendEntity = { kind: 'key-model', id: 'h1', model: 'gpt' }

/** Counters whose `run` of the scripts named `scriptName…` fails as configured (before or after it ran). */
function flakyCounters(base: Counters, scriptName: string) {
  const control = { failures: 0, afterRun: false, runs: 0 }
  const counters: Counters = {
    ...base,
    kind: base.kind,
    run: async <T>(script: CounterScript<T>, keys: readonly string[], args: readonly (string | number)[]) => {
      if (!script.name.startsWith(scriptName) || control.failures === 0) return base.run(script, keys, args)
      control.failures--
      control.runs++
      if (control.afterRun) await base.run(script, keys, args) // the reply is what got lost
      throw new Error('ETIMEDOUT (simulated Redis blip)')
    },
  }
  return { counters, control }
}

let sql: Sql
beforeAll(async () => {
  sql = await migratedPglite()
})
afterAll(() => sql.close())
beforeEach(async () => {
  await truncateSpendTables(sql)
})

async function dueKey(spend: number, modelSpend: Record<string, number> = {}) {
  await sql.query(
    `INSERT INTO "LiteLLM_VerificationToken" (token, spend, model_spend, max_budget, budget_duration, budget_reset_at)
     VALUES ('h1', $1, $2, 100, '1d', '2025-05-02 11:59:00')`,
    [spend, JSON.stringify(modelSpend)],
  )
}

describe('spend review 3: per-model budgets reset with their key', () => {
  it('a key reset zeroes model_spend and lowers the per-model totals by exactly what was zeroed', async () => {
    await dueKey(5, { gpt: 4, claude: 1 })
    const counters = memoryCounters()
    const totals = createSpendTotals({ sql, counters })
    expect(await totals.current([KEY, KEY_GPT])).toEqual([5, 4])
    await totals.add([KEY, KEY_GPT], 0.5) // recorded, not flushed yet: belongs to the new period
    await resetDueBudgets({ sql, totals, logger: recordingLogger(), clock: () => NOW })
    expect(await totals.current([KEY, KEY_GPT])).toEqual([0.5, 0.5])
    const [row] = await sql.query(`SELECT spend, model_spend FROM "LiteLLM_VerificationToken"`)
    expect(row).toEqual({ spend: 0, model_spend: { gpt: 0, claude: 0 } })
  })

  it('a key over its model_max_budget can call that model again after its budget_duration reset', async () => {
    let now = NOW
    const app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER, clock: () => now })
    const { waitUntil, settle } = waitUntilQueue()
    const post = (path: string, body: unknown, key = MASTER) =>
      app.fetch(
        new Request(`http://gw${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
        { waitUntil },
      )
    const generated = await post('/key/generate', {
      budget_duration: '1d',
      model_max_budget: { priced: { budget_limit: COST, time_period: '1d' } },
    })
    const { key } = await generated.json()
    const chat = async () => {
      const response = await post(
        '/v1/chat/completions',
        { model: 'priced', messages: [{ role: 'user', content: 'hi' }] },
        key,
      )
      await response.text()
      await settle()
      return response.status
    }
    expect(await chat()).toBe(200)
    expect(await chat()).toBe(400) // per-model budget spent
    now += 3 * 86_400_000
    await chat() // the budget read starts the due reset run (settled through waitUntil)
    expect(await chat()).toBe(200)
    const [row] = await sql.query<{ spend: number; model_spend: Record<string, number> }>(
      `SELECT spend, model_spend FROM "LiteLLM_VerificationToken"`,
    )
    expect(row?.model_spend.priced).toBeCloseTo(COST, 12)
    expect(row?.spend).toBeCloseTo(COST, 12)
    await app.close()
  })
})

describe('spend review 4: counters steps after a committed reset are retried, and applied once', () => {
  it('a subtraction that failed is retried by the next run, and the log says what happened', async () => {
    await dueKey(5)
    const { counters, control } = flakyCounters(memoryCounters(), 'multillm.spend.subtractResetOnce')
    const totals = createSpendTotals({ sql, counters })
    const logger = recordingLogger()
    const followUps = new ResetFollowUps(totals, logger)
    expect(await totals.current([KEY])).toEqual([5])
    control.failures = 1
    const result = await resetDueBudgets({ sql, totals, logger, clock: () => NOW, followUps })
    expect(result.key).toEqual(['h1'])
    expect(await totals.current([KEY])).toEqual([5]) // not lowered yet
    expect(followUps.size).toBe(1)
    expect(logger.lines.map((l) => l.message)).toEqual([
      'budgets reset',
      'budget reset committed, but the running totals were not lowered yet; retrying on the next run',
    ])
    expect(logger.lines[0]?.fields).toMatchObject({ keys: 1, users: 0, teams: 0 })

    await resetDueBudgets({ sql, totals, logger, clock: () => NOW + 10_000, followUps })
    expect(await totals.current([KEY])).toEqual([0])
    expect(followUps.size).toBe(0)
  })

  it('a retry after an attempt that did apply (its reply lost) does not subtract twice', async () => {
    await dueKey(5)
    const { counters, control } = flakyCounters(memoryCounters(), 'multillm.spend.subtractResetOnce')
    const totals = createSpendTotals({ sql, counters })
    const followUps = new ResetFollowUps(totals, recordingLogger())
    expect(await totals.current([KEY])).toEqual([5])
    await totals.add([KEY], 2) // unflushed spend of the new period
    control.failures = 1
    control.afterRun = true
    await resetDueBudgets({ sql, totals, logger: recordingLogger(), clock: () => NOW, followUps })
    expect(await totals.current([KEY])).toEqual([2])
    await followUps.retry()
    expect(followUps.size).toBe(0)
    expect(await totals.current([KEY])).toEqual([2]) // a second subtraction would have floored it at 0
  })

  it('after repeated failures the totals are deleted, so they are seeded from Postgres again', async () => {
    await dueKey(5)
    const { counters, control } = flakyCounters(memoryCounters(), 'multillm.spend.subtractResetOnce')
    const totals = createSpendTotals({ sql, counters })
    const followUps = new ResetFollowUps(totals, recordingLogger(), 3)
    expect(await totals.current([KEY])).toEqual([5])
    control.failures = 100
    await resetDueBudgets({ sql, totals, logger: recordingLogger(), clock: () => NOW, followUps })
    let runs = 0
    while (followUps.size > 0 && runs < 10) {
      runs++
      await followUps.retry()
    }
    expect(runs).toBe(3)
    expect(await counters.get('spend:key:h1')).toBeNull()
    expect(await totals.current([KEY])).toEqual([0])
  })

  it('the spend service retries on its own: the total comes down on a later run', async () => {
    await dueKey(5)
    let now = NOW - 120_000 // not due yet
    const { counters, control } = flakyCounters(memoryCounters(), 'multillm.spend.subtractReset')
    const svc = createSpendService({
      stores: { sql, counters },
      config: emptyGatewayConfig(),
      logger: recordingLogger(),
      clock: () => now,
    })
    expect(await svc.totals.current([KEY])).toEqual([5])
    control.failures = 1
    now = NOW
    await svc.totals.current([KEY]) // starts the run; its subtraction fails
    await vi.waitFor(() => expect(control.runs).toBe(1))
    await vi.waitFor(async () =>
      expect((await sql.query(`SELECT spend FROM "LiteLLM_VerificationToken"`))[0]?.spend).toBe(0),
    )
    now += 11_000
    await svc.totals.current([KEY]) // the next run retries the subtraction first
    await vi.waitFor(async () => expect(await svc.totals.current([KEY])).toEqual([0]))
    await svc.close()
  })
})

describe('spend review 5: nothing on the request path waits for a budget reset', () => {
  it('without timers, a slow budget-reset query does not slow requests, and the reset still happens', async () => {
    let slow = false
    const slowReset: Sql = {
      ...sql,
      kind: sql.kind,
      query: async (text, params) => {
        if (slow && text.includes('budget_reset_at <=')) await new Promise((r) => setTimeout(r, 2500))
        return sql.query(text, params)
      },
    }
    let now = NOW
    const app = await createInProcessApp(slowReset, { config: CONFIG, masterKey: MASTER, clock: () => now })
    const { waitUntil, settle } = waitUntilQueue()
    const post = (path: string, body: unknown, key = MASTER) =>
      app.fetch(
        new Request(`http://gw${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
        { waitUntil },
      )
    const { key } = await (await post('/key/generate', { max_budget: 1, budget_duration: '1d' })).json()
    const chat = () =>
      post('/v1/chat/completions', { model: 'priced', messages: [{ role: 'user', content: 'hi' }] }, key)
    await (await chat()).text()
    await settle()
    slow = true
    now += 86_400_000
    const started = performance.now()
    const response = await chat()
    await response.text()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(response.status).toBe(200)
    await settle() // the reset run went to waitUntil
    const [row] = await sql.query<{ budget_reset_at: Date }>(
      `SELECT budget_reset_at FROM "LiteLLM_VerificationToken"`,
    )
    expect(row?.budget_reset_at.getTime()).toBeGreaterThan(now)
    await app.close()
  })

  it('x-litellm-key-spend comes from what the add script returned: no extra read per call', async () => {
    const mem = memoryCounters()
    const ops: string[] = []
    const counters: Counters = {
      ...mem,
      kind: mem.kind,
      mget: (keys) => {
        ops.push('mget')
        return mem.mget(keys)
      },
      run: (script, keys, args) => {
        ops.push(script.name)
        return mem.run(script, keys, args)
      },
    }
    const app = createApp({
      config: await parseConfig(CONFIG, {}),
      env: {},
      masterKey: MASTER,
      logger: recordingLogger(),
      clock: () => NOW,
      stores: { sql, counters },
    })
    const { waitUntil, settle } = waitUntilQueue()
    const post = (path: string, body: unknown, key = MASTER) =>
      app.fetch(
        new Request(`http://gw${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
        { waitUntil },
      )
    const { key } = await (await post('/key/generate', {})).json() // no budget
    const spends: number[] = []
    for (let i = 0; i < 3; i++) {
      const response = await post(
        '/v1/chat/completions',
        { model: 'priced', messages: [{ role: 'user', content: 'hi' }] },
        key,
      )
      await response.text()
      await settle()
      spends.push(Number(response.headers.get('x-litellm-key-spend')))
    }
    for (const [i, spend] of spends.entries()) expect(spend).toBeCloseTo((i + 1) * COST, 12)
    ops.length = 0
    await (
      await post(
        '/v1/chat/completions',
        { model: 'priced', messages: [{ role: 'user', content: 'hi' }] },
        key,
      )
    ).text()
    await settle()
    expect(ops).toEqual(['multillm.spend.addIfPresent'])
    await app.close()
  })

  it('a Neon query that is never answered fails at its deadline', async () => {
    const server = createServer(() => {}) // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    try {
      const { port } = server.address() as AddressInfo
      const neon = neonSql('postgresql://u:p@db.example:5432/main', {
        fetchEndpoint: `http://127.0.0.1:${port}/sql`,
        queryTimeoutMs: 300,
      })
      const started = performance.now()
      await expect(neon.query('SELECT 1')).rejects.toThrow()
      await expect(neon.transaction([{ text: 'SELECT 1' }, { text: 'SELECT 2' }])).rejects.toThrow()
      expect(performance.now() - started).toBeLessThan(3000)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('spend review 7: ordered, bounded reset query and summaries', () => {
  it('rows with an invalid budget_duration cannot keep valid ones from resetting; warned once', async () => {
    await sql.query(
      `INSERT INTO "LiteLLM_VerificationToken" (token, spend, budget_duration, budget_reset_at)
       SELECT 'bad-' || i, 1, 'weekly', timestamp '2025-01-01' + i * interval '1 second'
       FROM generate_series(1, 5000) AS i`,
    )
    await sql.query(
      `INSERT INTO "LiteLLM_UserTable" (user_id, spend, budget_duration, budget_reset_at)
       VALUES ('u-valid', 3, '1d', '2025-05-01 00:00:00')`,
    )
    const logger = recordingLogger()
    const { timers, tick } = manualTimers()
    const svc = createSpendService({
      stores: { sql, counters: memoryCounters() },
      config: emptyGatewayConfig(),
      logger,
      timers,
      clock: () => NOW,
    })
    await tick() // the 5,000 most overdue rows are all invalid
    await tick()
    const [user] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_UserTable"`)
    expect(user?.spend).toBe(0)
    await svc.close()
    const warnings = logger.lines.filter((l) => l.level === 'warn')
    expect(warnings.map((w) => w.message)).toEqual(['budget not reset: invalid budget_duration'])
    expect(warnings[0]?.fields.rows).toBe(5000)
  })

  it('resets the most overdue rows first', async () => {
    await sql.query(
      `INSERT INTO "LiteLLM_VerificationToken" (token, spend, budget_duration, budget_reset_at)
       SELECT 'k-' || i, 1, '1d', timestamp '2025-05-01' + i * interval '1 second'
       FROM generate_series(1, 5000) AS i`,
    )
    await sql.query(
      `INSERT INTO "LiteLLM_TeamTable" (team_id, spend, budget_duration, budget_reset_at)
       VALUES ('t-oldest', 3, '1d', '2025-01-01 00:00:00')`,
    )
    const totals = createSpendTotals({ sql, counters: memoryCounters() })
    const first = await resetDueBudgets({ sql, totals, logger: recordingLogger(), clock: () => NOW })
    expect(first.team).toEqual(['t-oldest'])
    expect(first.key).toHaveLength(4999)
    expect(first.key).not.toContain('k-5000')
  })

  it('summaries are ordered, limited, and say when they were cut', async () => {
    await sql.query(
      `INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, "startTime", "endTime", model, team_id, end_user)
       VALUES ('a', 'acompletion', 'k1', 5, '2025-05-01 10:00', '2025-05-01 10:00', 'big', NULL, 'c1'),
              ('b', 'acompletion', 'k1', 1, '2025-05-01 11:00', '2025-05-01 11:00', 'small', NULL, 'c1'),
              ('c', 'acompletion', 'k2', 2, '2025-05-01 12:00', '2025-05-01 12:00', 'mid', NULL, 'c2')`,
    )
    const range = { startDate: '2025-05-01', endDate: '2025-05-01' }
    const days = await spendLogDays(sql, range, 2)
    expect(days.truncated).toBe(true)
    expect(days.days[0]?.models).toEqual({ big: 5, mid: 2 }) // the smallest group is the one left out
    expect(days.days[0]?.spend).toBe(8) // day totals stay exact
    expect((await spendLogDays(sql, range)).truncated).toBe(false)

    const byKey = await spendReport(sql, 'api_key', range.startDate, range.endDate, undefined, 2)
    expect(byKey.truncated).toBe(true)
    expect(byKey.rows.map((r) => [r.api_key, r.total_cost])).toEqual([
      ['k1', 5],
      ['k2', 2],
    ])
    expect(byKey.rows[0]).not.toHaveProperty('truncated')
    const byCustomer = await spendReport(sql, 'customer', range.startDate, range.endDate, undefined, 2)
    expect(byCustomer.truncated).toBe(true)
    const untouched = await spendReport(sql, 'team', range.startDate, range.endDate, undefined)
    expect(untouched.truncated).toBe(false)
    expect(untouched.rows[0]?.teams).toEqual([
      expect.objectContaining({ team_name: 'Unassigned Team', total_spend: 8 }),
    ])
  })

  it('the routes say when a summary was cut, in x-multillm-truncated', { timeout: 60_000 }, async () => {
    await sql.query(
      `INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, "startTime", "endTime", model)
       SELECT 'r' || i, 'acompletion', 'k1', 0.001, '2025-05-01 10:00', '2025-05-01 10:00', 'm' || i
       FROM generate_series(1, 100001) AS i`,
    )
    const app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER })
    const get = (path: string) =>
      app.fetch(new Request(`http://gw${path}`, { headers: { authorization: `Bearer ${MASTER}` } }))
    const range = 'start_date=2025-05-01&end_date=2025-05-01'
    for (const path of [`/spend/logs?${range}`, `/global/spend/report?${range}&group_by=api_key`]) {
      const response = await get(path)
      expect(response.status).toBe(200)
      expect(response.headers.get('x-multillm-truncated')).toBe('true')
      await response.arrayBuffer()
    }
    await sql.query(`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id <> 'r1'`)
    const whole = await get(`/spend/logs?${range}`)
    expect(whole.headers.has('x-multillm-truncated')).toBe(false)
    await whole.arrayBuffer()
    await app.close()
  })
})
