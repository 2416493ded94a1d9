import type { GatewayConfig } from '../config/types'
import type { KeyService } from '../keys/key-service'
import type { Logger } from '../observability/logger'
import type { Stores } from '../store/stores'
import type { Timers } from '../timers'
import { isSupportedBudgetTimezone } from './budget-duration'
import { resetDueBudgets } from './budget-reset'
import { SpendQueue } from './spend-queue'
import { createSpendTotals, entitiesOf, type SpendChange } from './spend-totals'
import type { SpendRecord, SpendTotals } from './spend-types'
import { DEFAULT_RETRY, type RetryPolicy, SpendWriter } from './spend-writer'

/** Records what calls cost and keeps the running totals budgets are checked against. */
export interface SpendService {
  totals: SpendTotals
  /**
   * Records one finished call: shared running totals at once, the spend-log row and the
   * aggregate updates in the next batch write. Background work goes to `waitUntil` if given.
   */
  record(record: SpendRecord, waitUntil?: (promise: Promise<unknown>) => void): void
  /**
   * Writes everything queued; resolves once it is in Postgres (retrying while it is down).
   * Rejects only if `signal` aborts first; the rows then stay queued.
   */
  flush(signal?: AbortSignal): Promise<void>
  /**
   * After an update set an entity's spend in Postgres (`/key/update {"spend": 0}`): `from` is the
   * spend the row had, read by the statement that wrote `to`. An existing running total moves by
   * exactly `to - from`, so it keeps counting what is recorded but not yet flushed; a missing one
   * is seeded from Postgres when next read. Counter failures are logged (Postgres is already
   * written; the total then stays off until it expires).
   */
  adjust(change: SpendChange): Promise<void>
  /** Stops the timers and flushes (adapters call it on shutdown, with their own deadline). */
  close(): Promise<void>
}

export interface SpendServiceDeps {
  stores: Stores | undefined
  config: GatewayConfig
  logger: Logger
  timers?: Timers
  clock: () => number
  /** Lets a budget reset drop cached copies of the keys it reset on every instance. */
  keys?: Pick<KeyService, 'invalidate'>
  retry?: RetryPolicy
  /** Rows kept in memory at most while Postgres is unreachable. */
  queueCap?: number
}

const DEFAULT_BATCH_WRITE_SECONDS = 10
/**
 * Budget resets are checked this often. LiteLLM checks every ~10 min, so a `30s` budget resets up to
 * ten minutes late; ten seconds keeps even the shortest durations honest, and the check is one
 * indexed query per table.
 */
export const BUDGET_RESET_EVERY_MS = 10_000
/** Hours of traffic at a few hundred calls per second; ~1 KB each. */
const DEFAULT_QUEUE_CAP = 200_000

const noStores: SpendService = {
  totals: { current: async (entities) => entities.map(() => 0) },
  record() {},
  flush: async () => {},
  adjust: async () => {},
  close: async () => {},
}

/**
 * Without stores nothing is recorded and every total is 0.
 *
 * Where the runtime has timers (Node) the queue is written every `proxy_batch_write_at` seconds and
 * budgets are reset every minute. Where it has none (Workers, Lambda) both happen on requests: each
 * `record` hands a write of everything queued to `waitUntil`, and the budget check runs at most once
 * a minute, awaited by `totals.current` so a due reset happens before the budget is checked.
 */
export function createSpendService(deps: SpendServiceDeps): SpendService {
  if (!deps.stores) return noStores
  const { stores, logger, timers, clock, config, keys } = deps
  const totals = createSpendTotals(stores)
  const queue = new SpendQueue(deps.queueCap ?? DEFAULT_QUEUE_CAP, logger)
  const writer = new SpendWriter(stores.sql, queue, logger, clock, deps.retry ?? DEFAULT_RETRY)
  /** Records whose totals update has not finished: their rows are not in the queue yet. */
  const adding = new Set<Promise<void>>()
  const resetsEnabled = config.generalSettings.disable_reset_budget !== true
  const timezone = budgetTimezone(config, logger)

  let resetting: Promise<void> | undefined
  let lastResetCheck = Number.NEGATIVE_INFINITY
  const resetBudgets = (): Promise<void> => {
    resetting ??= resetDueBudgets({
      sql: stores.sql,
      totals,
      logger,
      clock,
      timezone,
      invalidateKeys: keys && ((tokens) => keys.invalidate(tokens)),
    })
      .then(() => {})
      .catch((error: unknown) => logger.warn('budget reset failed; retried on the next run', { error }))
      .finally(() => {
        resetting = undefined
      })
    return resetting
  }
  const resetIfDue = (): Promise<void> => {
    if (!resetsEnabled || clock() - lastResetCheck < BUDGET_RESET_EVERY_MS) return Promise.resolve()
    lastResetCheck = clock()
    return resetBudgets()
  }

  const stops: Array<() => void> = []
  if (timers) {
    stops.push(
      timers.every(batchWriteMs(config), async () => {
        if (writer.due) await writer.writeQueued()
      }),
    )
    if (resetsEnabled) stops.push(timers.every(BUDGET_RESET_EVERY_MS, resetBudgets))
  }

  const settle = async (): Promise<void> => {
    while (adding.size > 0) await Promise.allSettled([...adding])
  }

  return {
    totals: {
      async current(entities) {
        if (!timers) await resetIfDue()
        return totals.current(entities)
      },
    },

    record(record, waitUntil) {
      // The row joins the queue only once its totals are updated: a total seeded from Postgres
      // must not already contain this call (spend-totals.ts). If the counters fail the row is
      // queued anyway; Postgres stays right and the totals miss this call.
      const added: Promise<void> = totals
        .add(entitiesOf(record), record.spend)
        .catch((error: unknown) =>
          logger.warn('spend totals not updated', { request_id: record.requestId, error }),
        )
        .then(() => {
          queue.push(record)
          adding.delete(added)
        })
      adding.add(added)
      if (timers) {
        waitUntil?.(added)
        return
      }
      const work = added.then(() => (writer.due ? writer.writeQueued() : undefined)).then(() => resetIfDue())
      waitUntil?.(work)
    },

    async flush(signal) {
      await settle()
      await writer.flush(signal)
    },

    async adjust(change) {
      await totals.adjust([change]).catch((error: unknown) =>
        logger.warn('spend total not adjusted to the spend set; it stays off until it expires', {
          kind: change.entity.kind,
          id: change.entity.id,
          from: change.from,
          to: change.to,
          error,
        }),
      )
    },

    async close() {
      for (const stop of stops.splice(0)) stop()
      await settle()
      await resetting
      await writer.flush()
    },
  }
}

function batchWriteMs(config: GatewayConfig): number {
  const seconds = config.generalSettings.proxy_batch_write_at
  return (typeof seconds === 'number' && seconds > 0 ? seconds : DEFAULT_BATCH_WRITE_SECONDS) * 1000
}

/** LiteLLM's `litellm_settings.timezone` for calendar-aligned resets; only UTC is implemented. */
function budgetTimezone(config: GatewayConfig, logger: Logger): string {
  const zone = config.litellmSettings.timezone
  if (typeof zone !== 'string' || isSupportedBudgetTimezone(zone)) return 'UTC'
  logger.warn('litellm_settings.timezone is not supported for budget resets yet; using UTC', {
    timezone: zone,
  })
  return 'UTC'
}
