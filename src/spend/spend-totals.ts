import type { Stores } from '../store/stores'
import { jsonNumber } from './spend-batch-sql'
import {
  addIfPresentScript,
  adjustIfPresentScript,
  seedScript,
  subtractResetOnceScript,
  subtractResetScript,
} from './spend-scripts'
import type { SpendEntity, SpendRecord, SpendTotals } from './spend-types'

/**
 * Running spend per key, user, team and key × model group, in the shared counters so every
 * instance agrees between database flushes.
 *
 * Invariant: while a total exists it equals the Postgres value plus every recorded but not yet
 * flushed spend of every instance. How it is kept:
 * - A total is created once, from Postgres ("set if absent", atomic), and never re-seeded while it
 *   exists; its expiry is refreshed on every increment, and it is long (a day) compared to the
 *   flush interval, so a total only expires once the spend it holds is in Postgres.
 * - Recording a call adds to the totals that exist. A missing one is seeded from Postgres plus this
 *   call in one script, and the call's row is only handed to the writer after that (see
 *   spend-service.ts): the Postgres value read for the seed therefore cannot contain this call yet.
 *   Any other call either was added to the total by its own instance, or seeds/adds the same way.
 * - A budget reset subtracts, from an existing total, exactly the spend Postgres zeroed (per-model
 *   totals too: a key's reset zeroes its `model_spend`), once per reset (budget-reset.ts retries).
 * - An update that sets spend (`/key/update`, `/user/update`) reads the row's old spend in the
 *   statement that writes the new one, and moves an existing total by exactly the difference.
 * The last two leave one narrow gap: a total seeded between the Postgres write and the counter update
 * is moved although it already has the new value (clamped, see spend-scripts.ts).
 * What breaks it: losing Redis data (restart without persistence, eviction). The re-seeded totals
 * then miss the spend that was recorded but not yet flushed at that moment: at most
 * `proxy_batch_write_at` seconds of spend, or the backlog while Postgres was down.
 */
export interface SharedSpendTotals extends SpendTotals {
  /**
   * Adds one call's cost to its entities' totals (seeding those that are missing); resolves with
   * each total after the call (empty when nothing was added).
   */
  add(entities: readonly SpendEntity[], amount: number): Promise<number[]>
  /**
   * After a budget reset zeroed these entities' spend in Postgres (`spend` = the value zeroed).
   * With `resetAt` (the row's budget_reset_at before the reset) each subtraction is applied at most
   * once per reset, so it may be retried after any failure (subtractResetOnceScript).
   */
  subtractReset(zeroed: ReadonlyArray<ZeroedTotal>): Promise<void>
  /** Deletes these totals; the next read seeds them from Postgres again. */
  forget(entities: readonly SpendEntity[]): Promise<void>
  /** After one statement changed these entities' spend in Postgres from `from` to `to`. */
  adjust(changes: ReadonlyArray<SpendChange>): Promise<void>
}

/** What a budget reset zeroed in Postgres for one total. */
export interface ZeroedTotal {
  entity: SpendEntity
  spend: number
  /** The row's budget_reset_at before the reset (ISO), which names this reset. */
  resetAt?: string
}

/** How long a reset's "already subtracted" marker lives: far longer than its retries go on. */
export const RESET_GUARD_TTL_SECONDS = 2 * 24 * 60 * 60

/** A spend set outside of calls: the row's value before and after, read by the same statement. */
export interface SpendChange {
  entity: SpendEntity
  from: number
  to: number
}

/** Long against the flush interval (see above); refreshed on every increment. */
export const SPEND_TOTAL_TTL_SECONDS = 24 * 60 * 60

/** The counter a total lives in; exported for code that changes spend outside of calls. */
export function spendCounterKey(entity: SpendEntity): string {
  return entity.kind === 'key-model'
    ? `spend:key-model:${entity.id}:${entity.model}`
    : `spend:${entity.kind}:${entity.id}`
}

/** Every total one call adds to: its key, the key's spend on the model group, its user and team. */
export function entitiesOf(record: SpendRecord): SpendEntity[] {
  const entities: SpendEntity[] = []
  if (record.apiKey !== '') {
    entities.push({ kind: 'key', id: record.apiKey })
    if (record.modelGroup !== '')
      entities.push({ kind: 'key-model', id: record.apiKey, model: record.modelGroup })
  }
  if (record.userId) entities.push({ kind: 'user', id: record.userId })
  if (record.teamId) entities.push({ kind: 'team', id: record.teamId })
  return entities
}

export function createSpendTotals(stores: Stores, ttlSeconds = SPEND_TOTAL_TTL_SECONDS): SharedSpendTotals {
  const { counters, sql } = stores

  /** Postgres spend of each entity (0 for rows that do not exist, e.g. the master key's hash). */
  async function fromPostgres(entities: readonly SpendEntity[]): Promise<number[]> {
    const ids = (kind: 'key' | 'user' | 'team') =>
      JSON.stringify(entities.filter((e) => e.kind === kind).map((e) => e.id))
    const pairs = JSON.stringify(
      entities.flatMap((e) => (e.kind === 'key-model' ? [{ token: e.id, model: e.model }] : [])),
    )
    const rows = await sql.query<{ k: string; spend: number | null }>(
      `SELECT 'spend:key:' || token AS k, spend FROM "LiteLLM_VerificationToken"
         WHERE token IN (SELECT jsonb_array_elements_text($1::jsonb))
       UNION ALL SELECT 'spend:user:' || user_id, spend FROM "LiteLLM_UserTable"
         WHERE user_id IN (SELECT jsonb_array_elements_text($2::jsonb))
       UNION ALL SELECT 'spend:team:' || team_id, spend FROM "LiteLLM_TeamTable"
         WHERE team_id IN (SELECT jsonb_array_elements_text($3::jsonb))
       UNION ALL SELECT 'spend:key-model:' || t.token || ':' || p.model, ${jsonNumber('t.model_spend -> p.model')}
         FROM "LiteLLM_VerificationToken" t
         JOIN jsonb_to_recordset($4::jsonb) AS p(token text, model text) ON t.token = p.token`,
      [ids('key'), ids('user'), ids('team'), pairs],
    )
    const byKey = new Map(rows.map((row) => [row.k, row.spend ?? 0]))
    return entities.map((e) => byKey.get(spendCounterKey(e)) ?? 0)
  }

  /** Seeds the missing totals from Postgres, adding `amount` to each; returns their values. */
  async function seed(entities: readonly SpendEntity[], amount: number): Promise<number[]> {
    const base = await fromPostgres(entities)
    const args = entities.flatMap((_, i) => [String(base[i] ?? 0), String(amount)])
    const values = await counters.run(seedScript, entities.map(spendCounterKey), [ttlSeconds, ...args])
    return entities.map((_, i) => values[i] ?? 0)
  }

  return {
    async current(entities) {
      if (entities.length === 0) return []
      const values = await counters.mget(entities.map(spendCounterKey))
      const missing = entities.filter((_, i) => values[i] === null)
      if (missing.length === 0) return values.map(Number)
      const seeded = await seed(missing, 0)
      let next = 0
      return values.map((value) => (value === null ? (seeded[next++] ?? 0) : Number(value)))
    },

    async add(entities, amount) {
      if (entities.length === 0 || !(amount > 0)) return []
      const keys = entities.map(spendCounterKey)
      const values = await counters.run(addIfPresentScript, keys, [
        ttlSeconds,
        ...keys.map(() => String(amount)),
      ])
      const missing = entities.filter((_, i) => values[i] === null || values[i] === undefined)
      if (missing.length === 0) return values.map(Number)
      const seeded = await seed(missing, amount)
      let next = 0
      return values.map((value) => (value === null || value === undefined ? (seeded[next++] ?? 0) : value))
    },

    async subtractReset(zeroed) {
      const once = zeroed.filter((z) => z.resetAt !== undefined)
      const plain = zeroed.filter((z) => z.resetAt === undefined)
      if (once.length > 0) {
        await counters.run(
          subtractResetOnceScript,
          [
            ...once.map((z) => spendCounterKey(z.entity)),
            ...once.map((z) => `reset-applied:${spendCounterKey(z.entity)}:${z.resetAt}`),
          ],
          [RESET_GUARD_TTL_SECONDS, ...once.map((z) => String(-z.spend))],
        )
      }
      if (plain.length > 0) {
        await counters.run(
          subtractResetScript,
          plain.map((z) => spendCounterKey(z.entity)),
          plain.map((z) => String(z.spend)),
        )
      }
    },

    async forget(entities) {
      if (entities.length > 0) await counters.del(entities.map(spendCounterKey))
    },

    async adjust(changes) {
      const moved = changes.filter((c) => c.to !== c.from)
      if (moved.length === 0) return
      await counters.run(
        adjustIfPresentScript,
        moved.map((c) => spendCounterKey(c.entity)),
        moved.flatMap((c) => [String(c.to), String(-c.from)]),
      )
    },
  }
}
