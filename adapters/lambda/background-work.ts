import type { Logger } from '../../src/observability/logger'

export interface BackgroundWork {
  /** Handed to the app as `waitUntil`. */
  waitUntil(promise: Promise<unknown>): void
  /** Waits for every promise handed in so far, including ones added while waiting. Never rejects. */
  settle(): Promise<void>
}

/**
 * Lambda freezes the execution environment as soon as the handler returns, so work the app
 * schedules with `waitUntil` (spend logs, cache writes…) must finish before the handler does.
 */
export function backgroundWork(logger: Logger): BackgroundWork {
  const pending: Promise<unknown>[] = []
  return {
    waitUntil(promise) {
      pending.push(promise)
    },
    async settle() {
      while (pending.length > 0) {
        const results = await Promise.allSettled(pending.splice(0))
        for (const result of results)
          if (result.status === 'rejected') logger.error('background work failed', { error: result.reason })
      }
    },
  }
}
