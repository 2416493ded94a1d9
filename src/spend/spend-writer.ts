import type { Logger } from '../observability/logger'
import type { Sql } from '../store/sql'
import { type BatchResult, rowJson, writeSpendJson } from './spend-batch-sql'
import { utf8Bytes, withoutFreeText } from './spend-bounds'
import type { SpendQueue } from './spend-queue'
import type { SpendRecord } from './spend-types'
import { isAvailabilityError } from './sql-errors'

export interface RetryPolicy {
  /** First delay after a failed write; doubles per consecutive failure up to `maxMs`. */
  baseMs: number
  maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000 }

/**
 * Rows per statement, and bytes of JSON per statement. A backlog from a long Postgres outage goes
 * out in several statements, each atomic and idempotent on its own, so one jsonb parameter never
 * grows past a few MB (Neon's HTTP endpoint and pg both limit request sizes).
 */
export const ROWS_PER_STATEMENT = 2000
export const MAX_STATEMENT_BYTES = 2 * 1024 * 1024

/**
 * How long one pass may wait on Postgres in total. The drivers time out single queries (10 s), but a
 * pass is a series of them, and a driver without a timeout (PGlite) or one that misses its own must
 * not hold the writer's tail, and so every later pass, forever.
 */
export const PASS_TIME_LIMIT_MS = 60_000

interface Pending {
  record: SpendRecord
  json: string
}

/** What is left of a chunk that could not be written: `error` unset when the pass ran out of time. */
interface Unwritten {
  rows: Pending[]
  error?: unknown
}

/** A statement still pending when the pass' time was up (treated like an unavailable database). */
class PassTimeoutError extends Error {
  override name = 'TimeoutError'
  constructor(limitMs: number) {
    super(`spend write pass exceeded its ${limitMs} ms time limit`)
  }
}

/**
 * Drains the queue into Postgres. Passes run one after another (never two at once from one
 * instance); a pass that finds Postgres unavailable puts its rows back and arms an exponential
 * backoff, so a down database is retried calmly instead of on every tick or request.
 *
 * A statement that fails because of its data (a value Postgres refuses, an index row too large, a
 * request too large for Neon) is not retried unchanged, which would block every row behind it
 * forever: the chunk is split in halves down to single rows, a single row still refused is written
 * once more with its free text emptied (spend-bounds.ts), and a row refused even then is dropped
 * with an error log naming its request_id and spend. Nothing is dropped while Postgres is merely
 * unavailable (sql-errors.ts tells the two apart).
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
    private readonly passTimeLimitMs: number = PASS_TIME_LIMIT_MS,
  ) {}

  /** Whether the backoff after a failure has passed (periodic and lazy flushes skip until then). */
  get due(): boolean {
    return this.clock() >= this.retryAt
  }

  /**
   * Writes everything queued once; false when Postgres was unavailable (rows kept for a later
   * pass). A pass that runs out of time stops early without failing; the rest stays queued.
   */
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
    const deadline = performance.now() + this.passTimeLimitMs
    while (this.queue.size > 0 && performance.now() < deadline) {
      const chunk = this.takeChunk()
      if (chunk.length === 0) continue
      const unwritten = await this.write(chunk, deadline)
      if (unwritten === undefined) continue
      this.queue.putBack(unwritten.rows.map((row) => row.record))
      if (unwritten.error === undefined) return true
      this.failures++
      const delay = Math.min(this.retry.baseMs * 2 ** (this.failures - 1), this.retry.maxMs)
      this.retryAt = this.clock() + delay
      this.logger.warn('spend write failed; rows kept for retry', {
        queued: this.queue.size,
        failures: this.failures,
        retry_in_ms: delay,
        error: unwritten.error,
      })
      return false
    }
    return true
  }

  /** The oldest rows, serialised, up to ROWS_PER_STATEMENT and MAX_STATEMENT_BYTES (at least one). */
  private takeChunk(): Pending[] {
    const records = this.queue.take(ROWS_PER_STATEMENT)
    const chunk: Pending[] = []
    let bytes = 2
    for (const [i, record] of records.entries()) {
      let json: string
      try {
        json = rowJson(record)
      } catch (error) {
        // Not a value Postgres could ever take (e.g. an invalid Date): nothing to retry.
        this.dropped('spend row dropped: it cannot be serialised', record, error)
        continue
      }
      const size = utf8Bytes(json) + 1
      if (chunk.length > 0 && bytes + size > MAX_STATEMENT_BYTES) {
        this.queue.putBack(records.slice(i))
        break
      }
      chunk.push({ record, json })
      bytes += size
    }
    return chunk
  }

  /**
   * Writes `rows`, splitting them on data errors; what is left when it had to stop, else undefined.
   * `top`: a whole chunk (the split is logged once per chunk, not at every level).
   */
  private async write(rows: Pending[], deadline: number, top = true): Promise<Unwritten | undefined> {
    if (performance.now() >= deadline) return { rows }
    try {
      const result = await this.statement(`[${rows.map((row) => row.json).join(',')}]`, deadline)
      this.recovered()
      if (result.inserted < rows.length) {
        // Expected after a retried batch whose first attempt did commit; never counted twice.
        this.logger.debug('spend rows already written', { skipped: rows.length - result.inserted })
      }
      return undefined
    } catch (error) {
      if (isAvailabilityError(error)) return { rows, error }
      const [single] = rows
      if (rows.length === 1 && single) return this.writeLastResort(single, error, deadline)
      if (top) {
        this.logger.warn('spend batch refused by Postgres; writing it in smaller parts', {
          rows: rows.length,
          error,
        })
      }
      const half = Math.ceil(rows.length / 2)
      const first = await this.write(rows.slice(0, half), deadline, false)
      if (first) return { rows: [...first.rows, ...rows.slice(half)], error: first.error }
      return this.write(rows.slice(half), deadline, false)
    }
  }

  /** A single row Postgres refused: once more without its free text, else dropped with an error log. */
  private async writeLastResort(
    row: Pending,
    refusal: unknown,
    deadline: number,
  ): Promise<Unwritten | undefined> {
    try {
      await this.statement(`[${rowJson(withoutFreeText(row.record))}]`, deadline)
      this.recovered()
      this.logger.warn(
        'spend row written without its free text (model, end user, metadata): Postgres refused it',
        {
          request_id: row.record.requestId,
          error: refusal,
        },
      )
      return undefined
    } catch (error) {
      if (isAvailabilityError(error)) return { rows: [row], error }
      // A row is only given up while Postgres demonstrably answers other statements.
      try {
        await this.statement(undefined, deadline)
      } catch (probe) {
        return { rows: [row], error: probe }
      }
      this.dropped(
        'spend row dropped: Postgres refuses it even without its free text',
        row.record,
        error,
        refusal,
      )
      return undefined
    }
  }

  /** Never silent: the error log names the row and what it cost. */
  private dropped(message: string, record: SpendRecord, error: unknown, firstError?: unknown): void {
    this.logger.error(message, {
      request_id: record.requestId,
      spend: record.spend,
      user_id: record.userId,
      team_id: record.teamId,
      error,
      ...(firstError !== undefined && { first_error: firstError }),
    })
  }

  private recovered(): void {
    if (this.failures > 0) this.logger.info('spend writes recovered', { after_failures: this.failures })
    this.failures = 0
    this.retryAt = 0
  }

  /**
   * One batch statement (`SELECT 1` without JSON), abandoned when still pending at `deadline`. An
   * abandoned statement may still commit later; resending its rows is safe (writeSpendJson).
   */
  private async statement(json: string | undefined, deadline: number) {
    const remaining = deadline - performance.now()
    if (remaining <= 0) throw new PassTimeoutError(this.passTimeLimitMs)
    const running =
      json === undefined ? this.sql.query('SELECT 1').then(() => NO_ROWS) : writeSpendJson(this.sql, json)
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PassTimeoutError(this.passTimeLimitMs)), remaining)
    })
    try {
      return await Promise.race([running, timeout])
    } finally {
      clearTimeout(timer)
      // An abandoned statement that fails later must not become an unhandled rejection.
      running.catch(() => {})
    }
  }
}

const NO_ROWS: BatchResult = { inserted: 0, keys: 0, users: 0, teams: 0 }

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
