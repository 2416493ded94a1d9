import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { updateKey } from '../../src/keys/key-repository'
import { silentLogger } from '../../src/observability/logger'
import { adjustIfPresentScript, seedScript } from '../../src/spend/spend-scripts'
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
 * Spend set by `/key/update` on the real thing (test/unit/spend-set-by-update.test.ts has it end to
 * end in process): the adjust script against its in-memory twin, and the update racing another
 * instance's flushes, each with its own Postgres pool and Redis connection.
 */
const config = emptyGatewayConfig()

describe.runIf(requireOrSkip('spend set by update on Postgres + Redis', postgres, redis))(
  'spend set by update on Postgres + Redis',
  () => {
    let db: FreshDatabase
    let sqls: Sql[] = []
    let redises: Counters[] = []
    const run = crypto.randomUUID().slice(0, 8)
    const key = `key-set-${run}`

    beforeAll(async () => {
      db = await freshDatabase()
      ;({ sqls, redises } = await openInstanceStores(db.url, 2))
      await sqls[0]?.query(`INSERT INTO "LiteLLM_VerificationToken" (token, spend) VALUES ($1, 0)`, [key])
    })

    afterAll(async () => {
      await redises[0]?.del([`spend:key:${key}`, `spend:twin-adjust-a:${run}`, `spend:twin-adjust-b:${run}`])
      await closeInstanceStores({ sqls, redises })
      await db?.drop()
    })

    it('the Lua script and its in-memory twin give the same results', async () => {
      const k = [`spend:twin-adjust-a:${run}`, `spend:twin-adjust-b:${run}`]
      const steps = async (c: Counters) => [
        await c.run(seedScript, [k[0] as string], [60, '0.3', '0.25']),
        await c.run(adjustIfPresentScript, k, ['0', '-0.3', '1', '-1']),
        await c.run(adjustIfPresentScript, k, ['1e-7', '-0.25', '1', '-1']),
        await c.run(adjustIfPresentScript, k, ['2.5', '-1e-7', '1', '-1']),
        await c.mget(k),
        (await c.ttl(k[0] as string)) > 0,
      ]
      const real = redises[0] as Counters
      try {
        expect(await steps(real)).toEqual(await steps(memoryCounters()))
      } finally {
        await real.del(k)
      }
    })

    it('spend set while another instance records and flushes: the total still equals Postgres once all is written', async () => {
      const [a, b] = [0, 1].map((i) =>
        createSpendService({
          stores: { sql: sqls[i] as Sql, counters: redises[i] as Counters },
          config,
          logger: silentLogger,
          timers: idleTimers,
          clock: Date.now,
        }),
      )
      if (!a || !b) throw new Error('two services')
      const call = (spend: number): SpendRecord =>
        spendRecord(spend, {
          apiKey: key,
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          modelGroup: '',
          userId: null,
          teamId: null,
        })
      const entity = { kind: 'key' as const, id: key }
      await a.totals.current([entity])
      const recording = (async () => {
        for (let i = 0; i < 40; i++) {
          a.record(call(0.5))
          if (i % 3 === 0) await a.flush()
        }
        await a.flush()
      })()
      const setting = (async () => {
        for (let i = 0; i < 15; i++) {
          const to = i % 2 === 0 ? 0 : 4
          const updated = await updateKey(sqls[1] as Sql, key, { spend: to })
          if (updated?.spendBefore === undefined) throw new Error('spend before the update')
          await b.adjust({ entity, from: updated.spendBefore, to })
        }
      })()
      await Promise.all([recording, setting])
      const [row] = await (sqls[0] as Sql).query<{ spend: number }>(
        `SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = $1`,
        [key],
      )
      expect(
        await createSpendTotals({ sql: sqls[0] as Sql, counters: redises[0] as Counters }).current([entity]),
      ).toEqual([row?.spend])
      await a.close()
      await b.close()
    })
  },
)
