import type { Logger } from '../observability/logger'
import type { Stores } from '../store/stores'
import type { Timers } from '../timers'
import type { VirtualKey } from './virtual-key'

/**
 * Virtual keys for the hot path: a per-instance cache in front of Postgres, invalidated on every
 * instance within a second of a change through the shared counters (no pub/sub needed).
 */
export interface KeyService {
  /** The key's record: from the local cache, else Postgres (then cached). undefined when unknown. */
  lookup(tokenHash: string): Promise<VirtualKey | undefined>
  /** Makes every instance drop its cached copies of these keys within ~1 s. */
  invalidate(tokenHashes: readonly string[]): Promise<void>
  /** Stops background polling. */
  close(): void
}

export interface KeyServiceDeps {
  stores: Stores
  logger: Logger
  timers?: Timers
  /** Wall clock in ms (expiry, cache TTL). */
  clock: () => number
}

export function createKeyService(_deps: KeyServiceDeps): KeyService {
  throw new Error('not implemented yet')
}
