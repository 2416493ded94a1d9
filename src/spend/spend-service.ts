import type { GatewayConfig } from '../config/types'
import type { KeyService } from '../keys/key-service'
import type { Logger } from '../observability/logger'
import type { Stores } from '../store/stores'
import type { Timers } from '../timers'
import { isSupportedBudgetTimezone } from './budget-duration'
import { InvalidDurations, ResetFollowUps, resetDueBudgets } from './budget-reset'
import { boundSpendRecord } from './spend-bounds'
import { SpendQueue } from './spend-queue'
import { createSpendTotals, entitiesOf, type SpendChange } from './spend-totals'
import type { SpendRecord, SpendTotals } from './spend-types'
import { DEFAULT_RETRY, type RetryPolicy, SpendWriter } from './spend-writer'
import { warnUnpricedDeployments } from './unpriced'

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
  /**
   * The latest running total of this key that this instance read or produced by an add, if it is
   * at most a minute old; for the `x-litellm-key-spend` header, which then needs no read of its
   * own. Like LiteLLM's (from its key cache) it can lag behind other instances' calls.
   */
  knownKeySpend(keyHash: string): number | undefined
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

/**
 * A reset run still pending after this long is presumed lost (on Workers, I/O started by a request
 * that has ended can be cancelled without ever settling) and no longer blocks the next one.
 */
const RESET_STALE_MS = 60_000

const noStores: SpendService = {
  totals: { current: async (entities) => entities.map(() => 0) },
  record() {},
  flush: async () => {},
  adjust: async () => {},
  knownKeySpend: () => undefined,
  close: async () => {},
}

/**
 * Without stores nothing is recorded and every total is 0.
 *
 * Where the runtime has timers (Node) the queue is written every `proxy_batch_write_at` seconds and
 * budgets are reset every BUDGET_RESET_EVERY_MS. Where it has none (Workers, Lambda) both happen on
 * requests: each `record` hands a write of everything queued, and a budget-reset run when one is due
 * or in flight, to `waitUntil`. `totals.current` (the budget check) only starts a due reset run and
 * never waits for it, so no request waits on Postgres for it; a budget that just reset is seen by
 * the requests after that run, a few ms later.
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
  warnUnpricedDeployments(config.deployments, logger)

  const followUps = new ResetFollowUps(totals, logger)
  const invalid = new InvalidDurations()
  const known = new KnownTotals()

  let resetting: Promise<void> | undefined
  let resettingSince = 0
  let lastResetCheck = Number.NEGATIVE_INFINITY
  const resetBudgets = (): Promise<void> => {
    if (resetting && performance.now() - resettingSince < RESET_STALE_MS) return resetting
    resettingSince = performance.now()
    const run: Promise<void> = resetDueBudgets({
      sql: stores.sql,
      totals,
      logger,
      clock,
      timezone,
      followUps,
      invalid,
      invalidateKeys: keys && ((tokens) => keys.invalidate(tokens)),
    })
      .then((result) => known.forget(result.key))
      .catch((error: unknown) => logger.warn('budget reset failed; retried on the next run', { error }))
      .finally(() => {
        if (resetting === run) resetting = undefined
      })
    resetting = run
    return run
  }
  /** Starts a run when one is due; resolves when the run in flight (if any) is done. */
  const resetIfDue = (): Promise<void> => {
    if (!resetsEnabled) return Promise.resolve()
    if (clock() - lastResetCheck < BUDGET_RESET_EVERY_MS && clock() >= lastResetCheck)
      return resetting ?? Promise.resolve()
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
        // Started, never awaited: a due reset must not hold the request (record() hands the run to
        // waitUntil; it also settles on its own within the drivers' query timeouts).
        if (!timers) void resetIfDue()
        const values = await totals.current(entities)
        entities.forEach((entity, i) => {
          if (entity.kind === 'key') known.set(entity.id, values[i])
        })
        return values
      },
    },

    record(original, waitUntil) {
      // Bounded before it is queued: free text from clients must not sit in memory or reach a row.
      const record = boundSpendRecord(original)
      const entities = entitiesOf(original)
      // The row joins the queue only once its totals are updated: a total seeded from Postgres
      // must not already contain this call (spend-totals.ts). If the counters fail the row is
      // queued anyway; Postgres stays right and the totals miss this call.
      const added: Promise<void> = totals
        .add(entities, record.spend)
        .then((values) => {
          entities.forEach((entity, i) => {
            if (entity.kind === 'key') known.set(entity.id, values[i])
          })
        })
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
      if (change.entity.kind === 'key') known.forget([change.entity.id])
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

    knownKeySpend: (keyHash) => known.get(keyHash),

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

/** How long a key total this instance saw serves the x-litellm-key-spend header (LiteLLM: 60 s key cache). */
const KNOWN_TOTAL_MAX_AGE_MS = 60_000
const KNOWN_TOTALS_MAX = 10_000

/** Recently seen key totals (see SpendService.knownKeySpend); bounded, oldest entries go first. */
class KnownTotals {
  private readonly totals = new Map<string, { value: number; at: number }>()

  get(id: string): number | undefined {
    const entry = this.totals.get(id)
    if (entry === undefined) return undefined
    if (performance.now() - entry.at <= KNOWN_TOTAL_MAX_AGE_MS) return entry.value
    this.totals.delete(id)
    return undefined
  }

  set(id: string, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return
    this.totals.delete(id)
    if (this.totals.size >= KNOWN_TOTALS_MAX) {
      const oldest = this.totals.keys().next().value
      if (oldest !== undefined) this.totals.delete(oldest)
    }
    this.totals.set(id, { value, at: performance.now() })
  }

  forget(ids: readonly string[]): void {
    for (const id of ids) this.totals.delete(id)
  }
}
