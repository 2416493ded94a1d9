import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger'
import { createSpendService } from '../../src/spend/spend-service'
import { createSpendTotals, entitiesOf, spendCounterKey } from '../../src/spend/spend-totals'
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

const KEY: SpendEntity = { kind: 'key', id: 'k1' }
const USER: SpendEntity = { kind: 'user', id: 'u1' }
const TEAM: SpendEntity = { kind: 'team', id: 't1' }
const KEY_GPT: SpendEntity = { kind: 'key-model', id: 'k1', model: 'gpt' }
const ALL = [KEY, USER, TEAM, KEY_GPT]

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
    `INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id, spend, model_spend)
     VALUES ('k1', 'u1', 't1', 5, '{"gpt": 4, "claude": 1}')`,
  )
  await sql.query(`INSERT INTO "LiteLLM_UserTable" (user_id, spend) VALUES ('u1', 7)`)
  await sql.query(`INSERT INTO "LiteLLM_TeamTable" (team_id, spend) VALUES ('t1', 11)`)
})

let seq = 0
function call(spend: number, over: Partial<SpendRecord> = {}): SpendRecord {
  return spendRecord(spend, { requestId: `req-${++seq}`, ...over })
}

const service = () =>
  createSpendService({
    stores: { sql, counters },
    config,
    logger: silentLogger,
    timers: idleTimers,
    clock: Date.now,
  })

/** Records and waits for the totals update (what waitUntil keeps alive in production). */
async function recordAll(svc: ReturnType<typeof service>, records: SpendRecord[]) {
  const pending: Promise<unknown>[] = []
  for (const r of records) svc.record(r, (p) => pending.push(p))
  await Promise.all(pending)
}

async function postgresSpend() {
  const [row] = await sql.query<{ key: number; gpt: number; user: number; team: number }>(
    `SELECT k.spend AS key, (k.model_spend ->> 'gpt')::float8 AS gpt, u.spend AS user, t.spend AS team
     FROM "LiteLLM_VerificationToken" k, "LiteLLM_UserTable" u, "LiteLLM_TeamTable" t`,
  )
  return row
}

describe('spend totals', () => {
  it('are seeded from Postgres (spend, model_spend) the first time they are read', async () => {
    expect(await createSpendTotals({ sql, counters }).current(ALL)).toEqual([5, 7, 11, 4])
    expect(await counters.mget(ALL.map(spendCounterKey))).toEqual(['5', '7', '11', '4'])
    expect(await counters.ttl('spend:key:k1')).toBeGreaterThan(3600)
  })

  it('are 0 for entities Postgres does not know (the master key hash, a new model group)', async () => {
    const totals = createSpendTotals({ sql, counters })
    expect(
      await totals.current([
        { kind: 'key', id: 'nope' },
        { kind: 'key-model', id: 'k1', model: 'x' },
      ]),
    ).toEqual([0, 0])
  })

  it('once seeded, are authoritative: add to them, never re-seed while they exist', async () => {
    const svc = service()
    expect(await svc.totals.current(ALL)).toEqual([5, 7, 11, 4])
    await recordAll(svc, [call(0.5), call(0.25)])
    expect(await svc.totals.current(ALL)).toEqual([5.75, 7.75, 11.75, 4.75])
    await svc.flush()
    expect(await postgresSpend()).toEqual({ key: 5.75, gpt: 4.75, user: 7.75, team: 11.75 })
    // Postgres now holds the same spend: a re-seed would not change anything, an add on top would.
    expect(await svc.totals.current(ALL)).toEqual([5.75, 7.75, 11.75, 4.75])
  })

  it('a call recorded while its total is missing seeds it first, so no instance can miss that call', async () => {
    const a = service()
    const b = service()
    await recordAll(a, [call(1)]) // no total yet: seeded from Postgres (5) + 1, row still unflushed
    expect(await b.totals.current([KEY])).toEqual([6])
    await a.flush()
    expect(await b.totals.current([KEY, TEAM])).toEqual([6, 12])
    expect((await postgresSpend())?.key).toBe(6)
  })

  it('a row is written only after its seed: a flush in between cannot make the seed count it twice', async () => {
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    // Counters that hold every script until released, as a slow Redis would.
    const slow: Counters = {
      ...counters,
      run: async (script, keys, args) => held.then(() => counters.run(script, keys, args)),
    }
    const { timers, tick } = manualTimers()
    const svc = createSpendService({
      stores: { sql, counters: slow },
      config,
      logger: silentLogger,
      timers,
      clock: Date.now,
    })
    const pending: Promise<unknown>[] = []
    svc.record(call(1), (p) => pending.push(p))
    await tick() // the periodic write fires while the seed is pending
    release()
    await Promise.all(pending)
    await svc.flush()
    expect((await postgresSpend())?.key).toBe(6)
    expect(await svc.totals.current([KEY])).toEqual([6])
  })

  it('two instances seeding at the same moment do not double count', async () => {
    const totals = createSpendTotals({ sql, counters })
    const other = createSpendTotals({ sql, counters })
    await Promise.all([
      totals.add([KEY], 1),
      other.add([KEY], 2),
      totals.current([KEY]),
      other.current([KEY]),
    ])
    expect(await totals.current([KEY])).toEqual([8])
  })

  it('two services sharing Postgres and counters, recording concurrently, sum exactly', async () => {
    const a = service()
    const b = service()
    const costs = Array.from({ length: 60 }, (_, i) => Math.round((0.001 + i * 0.0137) * 1e6) / 1e6)
    const expected = costs.reduce((sum, c) => sum + c, 0)
    await Promise.all([
      recordAll(
        a,
        costs.filter((_, i) => i % 2 === 0).map((c) => call(c)),
      ),
      recordAll(
        b,
        costs.filter((_, i) => i % 2 === 1).map((c) => call(c)),
      ),
      a.flush(),
      b.flush(),
    ])
    const live = await a.totals.current(ALL)
    await Promise.all([a.flush(), b.flush()])
    const pg = await postgresSpend()
    expect(pg?.key).toBeCloseTo(5 + expected, 10)
    expect(pg?.user).toBeCloseTo(7 + expected, 10)
    expect(pg?.team).toBeCloseTo(11 + expected, 10)
    expect(pg?.gpt).toBeCloseTo(4 + expected, 10)
    expect(live[0]).toBeCloseTo(5 + expected, 10)
    expect(await b.totals.current(ALL)).toEqual(live)
    const [logs] = await sql.query<{ n: number; total: number }>(
      `SELECT count(*)::int AS n, sum(spend) AS total FROM "LiteLLM_SpendLogs"`,
    )
    expect(logs?.n).toBe(60)
    expect(logs?.total).toBeCloseTo(expected, 10)
  })

  it('failures (spend 0) are logged but touch no total', async () => {
    const svc = service()
    await recordAll(svc, [call(0, { status: 'failure' })])
    expect(await counters.get('spend:key:k1')).toBeNull()
    await svc.flush()
    const [row] = await sql.query(`SELECT status, spend FROM "LiteLLM_SpendLogs"`)
    expect(row).toEqual({ status: 'failure', spend: 0 })
  })

  it('entitiesOf: key, key × model group, user and team of a call; only the key for the master key', () => {
    expect(entitiesOf(call(1))).toEqual(ALL.slice(0, 1).concat([KEY_GPT, USER, TEAM]))
    expect(entitiesOf(call(1, { apiKey: 'master', userId: null, teamId: null }))).toEqual([
      { kind: 'key', id: 'master' },
      { kind: 'key-model', id: 'master', model: 'gpt' },
    ])
    expect(ALL.map(spendCounterKey)).toEqual([
      'spend:key:k1',
      'spend:user:u1',
      'spend:team:t1',
      'spend:key-model:k1:gpt',
    ])
  })
})
