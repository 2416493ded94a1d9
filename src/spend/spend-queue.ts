import type { Logger } from '../observability/logger'
import type { SpendRecord } from './spend-types'

/**
 * Rows waiting for the next batch write, in this instance's memory. A batch that failed is put
 * back in front and goes out again with whatever arrived meanwhile; resending is safe because the
 * writer inserts by request_id and increments only from rows it actually inserted.
 *
 * The only bound is memory: past `cap` rows (hours of traffic with Postgres down) new rows are
 * refused with an error log, rather than the process running out of memory and losing all of them.
 * Refused rows are one loss: their spend is in the shared totals but never reaches Postgres. The
 * other is a row Postgres itself refuses even with its free text emptied (spend-writer.ts), dropped
 * with an error log so it cannot hold up the rows behind it.
 */
export class SpendQueue {
  private rows: SpendRecord[] = []
  private refused = 0

  constructor(
    private readonly cap: number,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  get size(): number {
    return this.rows.length
  }

  push(row: SpendRecord): void {
    if (this.rows.length >= this.cap) {
      // Logged on the first refusal and then every 1000th, so an outage does not flood the log.
      if (this.refused++ % 1000 === 0) {
        this.logger.error('spend queue full; spend-log rows are being dropped until Postgres is back', {
          cap: this.cap,
          dropped: this.refused,
          request_id: row.requestId,
        })
      }
      return
    }
    this.rows.push(row)
  }

  /** Removes and returns up to `max` rows, oldest first. */
  take(max: number): SpendRecord[] {
    return this.rows.splice(0, max)
  }

  /** Returns rows of a failed write to the front, ahead of newer ones. */
  putBack(rows: readonly SpendRecord[]): void {
    this.rows = [...rows, ...this.rows]
  }
}
