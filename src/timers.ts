/**
 * Periodic background work (spend flushes, cache invalidation polls, budget resets), provided by
 * adapters that have a long-lived process (Node). Where there is none (Workers, Lambda), services
 * do the same work lazily on requests and hand the promise to `waitUntil`.
 */
export interface Timers {
  /** Runs `task` every `ms` until the returned function is called; never overlaps itself. */
  every(ms: number, task: () => Promise<void>): () => void
}
