import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger'
import { resetDueBudgets } from '../../src/spend/budget-reset'
import { writeSpendBatch } from '../../src/spend/spend-batch-sql'
import { addIfPresentScript, seedScript, subtractResetScript } from '../../src/spend/spend-scripts'
import { createSpendService } from '../../src/spend/spend-service'
import { createSpendTotals } from '../../src/spend/spend-totals'
import type { SpendRecord } from '../../src/spend/spend-types'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { emptyGatewayConfig, idleTimers } from '../helpers/in-process-gateway'
import { closeInstanceStores, openInstanceStores } from '../helpers/instance-stores'
import { type FreshDatabase, freshDatabase, postgres, redis, requireOrSkip } from '../helpers/services'
import { spendRecord } from '../helpers/spend-record'

/**
 * The exactness claims on the real thing: two gateway instances, each with its own Postgres pool
 * and Redis connection (so statements really run concurrently, row locks and all), and the Lua
 * scripts checked against their in-memory twins.
 */
const config = emptyGatewayConfig()

describe.runIf(requireOrSkip('spend on Postgres + Redis', postgres, redis))(
  'spend on Postgres + Redis',
  () => {
    let db: FreshDatabase
    let sqls: Sql[] = []
    let redises: Counters[] = []
    const run = crypto.randomUUID().slice(0, 8)
    const key = `key-${run}`
    const user = `user-${run}`
    const team = `team-${run}`

    beforeAll(async () => {
      db = await freshDatabase()
      ;({ sqls, redises } = await openInstanceStores(db.url, 2))
      await sqls[0]?.query(
        `INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id, spend) VALUES ($1, $2, $3, 1)`,
        [key, user, team],
      )
      await sqls[0]?.query(`INSERT INTO "LiteLLM_UserTable" (user_id, spend) VALUES ($1, 2)`, [user])
      await sqls[0]?.query(
        `INSERT INTO "LiteLLM_TeamTable" (team_id, spend, budget_duration, budget_reset_at) VALUES ($1, 3, '1d', '2020-01-01')`,
        [team],
      )
    })

    afterAll(async () => {
      await redises[0]?.del([
        `spend:key:${key}`,
        `spend:user:${user}`,
        `spend:team:${team}`,
        `spend:key-model:${key}:gpt`,
      ])
      await closeInstanceStores({ sqls, redises })
      await db?.drop()
    })

    const call = (spend: number): SpendRecord =>
      spendRecord(spend, { apiKey: key, userId: user, teamId: team })

    async function spend() {
      const [row] = await (sqls[0] as Sql).query<{
        key: number
        gpt: number
        user: number
        team: number
        logs: number
      }>(
        `SELECT k.spend AS key, (k.model_spend ->> 'gpt')::float8 AS gpt, u.spend AS user, t.spend AS team,
         (SELECT count(*)::int FROM "LiteLLM_SpendLogs") AS logs
       FROM "LiteLLM_VerificationToken" k, "LiteLLM_UserTable" u, "LiteLLM_TeamTable" t`,
      )
      return row
    }

    it('two instances recording and flushing concurrently sum exactly, in Postgres and in Redis', async () => {
      const services = sqls.map((sql, i) =>
        createSpendService({
          stores: { sql, counters: redises[i] as Counters },
          config,
          logger: silentLogger,
          timers: idleTimers,
          clock: Date.now,
        }),
      )
      const costs = Array.from({ length: 200 }, (_, i) => (i % 7) * 0.001 + 0.0005)
      const expected = costs.reduce((a, b) => a + b, 0)
      await Promise.all(
        costs.map(async (cost, i) => {
          const svc = services[i % 2]
          svc?.record(call(cost))
          if (i % 25 === 0) await svc?.flush()
        }),
      )
      await Promise.all(services.map((s) => s.flush()))
      const after = await spend()
      expect(after?.logs).toBe(200)
      expect(after?.key).toBeCloseTo(1 + expected, 9)
      expect(after?.gpt).toBeCloseTo(expected, 9)
      expect(after?.user).toBeCloseTo(2 + expected, 9)
      expect(after?.team).toBeCloseTo(3 + expected, 9)
      const totals = await services[1]?.totals.current([
        { kind: 'key', id: key },
        { kind: 'user', id: user },
        { kind: 'team', id: team },
      ])
      expect(totals?.[0]).toBeCloseTo(1 + expected, 9)
      expect(totals?.[1]).toBeCloseTo(2 + expected, 9)
      expect(totals?.[2]).toBeCloseTo(3 + expected, 9)
    })

    it('the same batch sent by both instances at once (an ambiguous retry racing) is counted once', async () => {
      // A key of its own: these rows bypass the totals, which the next test compares with Postgres.
      const other = `other-${run}`
      await (sqls[0] as Sql).query(`INSERT INTO "LiteLLM_VerificationToken" (token) VALUES ($1)`, [other])
      const row = (cost: number) => ({ ...call(cost), apiKey: other, userId: null, teamId: null })
      const batch = [row(0.5), row(0.25)]
      const results = await Promise.all(sqls.map((sql) => writeSpendBatch(sql, batch)))
      expect(results.map((r) => r.inserted).sort()).toEqual([0, 2])
      const [after] = await (sqls[0] as Sql).query<{ spend: number; logs: number }>(
        `SELECT spend, (SELECT count(*)::int FROM "LiteLLM_SpendLogs" WHERE api_key = $1) AS logs
       FROM "LiteLLM_VerificationToken" WHERE token = $1`,
        [other],
      )
      expect(after).toEqual({ spend: 0.75, logs: 2 })
    })

    it('two instances resetting the same budget at once reset it once', async () => {
      const totals = redises.map((counters, i) => createSpendTotals({ sql: sqls[i] as Sql, counters }))
      const [live] = (await totals[0]?.current([{ kind: 'team', id: team }])) ?? []
      const [pg] = await (sqls[0] as Sql).query<{ spend: number }>(`SELECT spend FROM "LiteLLM_TeamTable"`)
      expect(live).toBeCloseTo(pg?.spend ?? Number.NaN, 9)
      const results = await Promise.all(
        totals.map((t, i) =>
          resetDueBudgets({ sql: sqls[i] as Sql, totals: t, logger: silentLogger, clock: Date.now }),
        ),
      )
      expect(results.flatMap((r) => r.team)).toEqual([team])
      expect(await totals[1]?.current([{ kind: 'team', id: team }])).toEqual([0])
    })

    it('the Lua scripts and their in-memory twins give the same results', async () => {
      const memory = memoryCounters()
      const k = [`spend:twin-a:${run}`, `spend:twin-b:${run}`]
      const steps = async (c: Counters) => [
        await c.run(addIfPresentScript, k, [60, '1', '1']),
        await c.run(seedScript, k, [60, '0.1', '0.2', '5', '0']),
        await c.run(seedScript, k, [60, '9', '0.2', '9', '0']),
        await c.run(addIfPresentScript, k, [60, '0.1', '1e-7']),
        await c.run(subtractResetScript, k, ['0.3', '10']),
        await c.mget(k),
        (await c.ttl(k[0] as string)) > 0,
      ]
      const real = redises[0] as Counters
      try {
        expect(await steps(real)).toEqual(await steps(memory))
      } finally {
        await real.del(k)
      }
    })
  },
)
