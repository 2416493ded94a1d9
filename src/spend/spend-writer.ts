import type { Logger } from '../observability/logger'
import type { Sql } from '../store/sql'
import { writeSpendBatch } from './spend-batch-sql'
import type { SpendQueue } from './spend-queue'

export interface RetryPolicy {
  /** First delay after a failed write; doubles per consecutive failure up to `maxMs`. */
  baseMs: number
  maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000 }

/**
 * Rows per statement. A backlog from a long Postgres outage goes out in several statements, each
 * atomic and idempotent on its own, so one jsonb parameter never grows past a few MB (Neon's HTTP
 * endpoint and pg both limit request sizes).
 */
export const ROWS_PER_STATEMENT = 2000

/**
 * Drains the queue into Postgres. Passes run one after another (never two at once from one
 * instance); a failed pass puts its rows back and arms an exponential backoff, so a down database
 * is retried calmly instead of on every tick or request. Nothing is dropped on failure.
 */
export class SpendWriter {
  private tail: Promise<boolean> = Promise.resolve(true)
  private failures = 0
  private retryAt = 0

  constructor(
    private readonly sql: Sql,
    private readonly queue: SpendQueue,
    private readonly logger: Logger,
    private readonly clock: () => number,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Whether the backoff after a failure has passed (periodic and lazy flushes skip until then). */
  get due(): boolean {
    return this.clock() >= this.retryAt
  }

  /** Writes everything queued once; false when Postgres failed (rows kept for a later pass). */
  writeQueued(): Promise<boolean> {
    // Chained on success and failure alike, so one unexpected throw cannot stop all later passes.
    const pass = this.tail.then(
      () => this.pass(),
      () => this.pass(),
    )
    this.tail = pass
    return pass
  }

  /**
   * Writes until the queue is empty, waiting out the backoff between attempts. Rejects only when
   * `signal` aborts (the caller gave up, e.g. a shutdown deadline); the rows stay queued.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted()
      if ((await this.writeQueued()) && this.queue.size === 0) return
      await sleep(Math.max(0, this.retryAt - this.clock()), signal)
    }
  }

  private async pass(): Promise<boolean> {
    while (this.queue.size > 0) {
      const rows = this.queue.take(ROWS_PER_STATEMENT)
      try {
        const result = await writeSpendBatch(this.sql, rows)
        if (this.failures > 0) this.logger.info('spend writes recovered', { after_failures: this.failures })
        this.failures = 0
        this.retryAt = 0
        if (result.inserted < rows.length) {
          // Expected after a retried batch whose first attempt did commit; never counted twice.
          this.logger.debug('spend rows already written', { skipped: rows.length - result.inserted })
        }
      } catch (error) {
        this.queue.putBack(rows)
        this.failures++
        const delay = Math.min(this.retry.baseMs * 2 ** (this.failures - 1), this.retry.maxMs)
        this.retryAt = this.clock() + delay
        this.logger.warn('spend write failed; rows kept for retry', {
          queued: this.queue.size,
          failures: this.failures,
          retry_in_ms: delay,
          error,
        })
        return false
      }
    }
    return true
  }
}

/** setTimeout exists on every runtime (Workers, Node, Lambda); resolves early on abort via reject. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', aborted)
      resolve()
    }
    function aborted() {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', aborted, { once: true })
  })
}
