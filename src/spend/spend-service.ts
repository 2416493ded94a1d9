import type { GatewayConfig } from '../config/types'
import type { Logger } from '../observability/logger'
import type { Stores } from '../store/stores'
import type { Timers } from '../timers'
import type { SpendRecord, SpendTotals } from './spend-types'

/** Records what calls cost and keeps the running totals budgets are checked against. */
export interface SpendService {
  totals: SpendTotals
  /**
   * Records one finished call: shared running totals at once, the spend-log row and the
   * aggregate updates in the next batch write. Background work goes to `waitUntil` if given.
   */
  record(record: SpendRecord, waitUntil?: (promise: Promise<unknown>) => void): void
  /** Writes everything queued; resolves once it is in Postgres (retrying while it is down). */
  flush(): Promise<void>
  close(): Promise<void>
}

export interface SpendServiceDeps {
  stores: Stores | undefined
  config: GatewayConfig
  logger: Logger
  timers?: Timers
  clock: () => number
}

/** Without stores nothing is recorded and every total is 0. */
export function createSpendService(_deps: SpendServiceDeps): SpendService {
  return {
    totals: { current: async (entities) => entities.map(() => 0) },
    record() {},
    flush: async () => {},
    close: async () => {},
  }
}
