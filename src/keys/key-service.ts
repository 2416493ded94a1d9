import type { Logger } from '../observability/logger'
import type { Stores } from '../store/stores'
import type { Timers } from '../timers'
import { TtlLruCache } from './key-cache'
import { EpochWatcher, publishInvalidation } from './key-invalidation'
import { findKeyForAuth } from './key-repository'
import type { VirtualKey } from './virtual-key'

/**
 * Virtual keys for the hot path: a per-instance cache in front of Postgres, invalidated on every
 * instance within a second of a change through the shared counters (no pub/sub needed).
 */
export interface KeyService {
  /** The key's record: from the local cache, else Postgres (then cached). undefined when unknown. */
  lookup(tokenHash: string): Promise<VirtualKey | undefined>
  /**
   * Makes every instance drop its cached copies of these keys within ~1 s. This instance's copies
   * are dropped synchronously, before the returned promise is even awaited; then the change is
   * published. Never rejects: a publish that fails is queued and published again after this
   * instance's next successful poll (instances whose polls fail meanwhile keep keys 5 s at most,
   * see DEGRADED_TTL_MS, and clear their cache when polling recovers).
   */
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
  /** Reads one key from Postgres; defaults to the joined key/user/team/budget query. */
  load?: (tokenHash: string) => Promise<VirtualKey | undefined>
  /** LiteLLM's `user_api_key_cache_ttl`: 60 s. */
  cacheTtlMs?: number
  maxEntries?: number
}

export const POLL_INTERVAL_MS = 250
const DEFAULT_TTL_MS = 60_000
/**
 * Unknown hashes are remembered briefly, so a flood of made-up keys costs one Postgres read per
 * distinct key per few seconds, not one per request. Kept in their own map so that flood cannot
 * push real keys out of the cache.
 */
const NEGATIVE_TTL_MS = 5_000
/**
 * While polling fails, invalidations from other instances go unseen: keep entries only briefly.
 * Entries already cached when a poll fails are cut down to this too, at once.
 */
const DEGRADED_TTL_MS = 5_000
const DEFAULT_MAX_ENTRIES = 10_000
/** More unpublished changes than this are published as "clear everything". */
const MAX_PENDING = 1_000

export function createKeyService(deps: KeyServiceDeps): KeyService {
  const { clock, logger } = deps
  const counters = deps.stores.counters
  const maxEntries = deps.maxEntries ?? DEFAULT_MAX_ENTRIES
  const ttlMs = deps.cacheTtlMs ?? DEFAULT_TTL_MS
  const load = deps.load ?? ((hash: string) => findKeyForAuth(deps.stores.sql, hash))
  const known = new TtlLruCache<VirtualKey>(maxEntries, clock)
  const unknown = new TtlLruCache<true>(maxEntries, clock)
  const inflight = new Map<string, Promise<VirtualKey | undefined>>()
  // Bumped on every eviction: a read that started before it may carry the old row, so it is
  // returned to its callers but not cached.
  let generation = 0
  let degraded = false
  let lastPoll = Number.NEGATIVE_INFINITY
  let polling: Promise<void> | undefined

  const target = {
    evict(hashes: readonly string[]) {
      generation++
      for (const hash of hashes) {
        known.delete(hash)
        unknown.delete(hash)
        inflight.delete(hash)
      }
    },
    clear() {
      generation++
      known.clear()
      unknown.clear()
      inflight.clear()
    },
  }
  const watcher = new EpochWatcher(counters, target)

  // Changes whose publication failed: published again once the counters answer.
  const pending = new Set<string>()

  async function publishPending(): Promise<void> {
    if (pending.size === 0) return
    const hashes = [...pending]
    try {
      await publishInvalidation(counters, hashes.length > MAX_PENDING ? 'all' : hashes)
      for (const hash of hashes) pending.delete(hash)
      logger.info('published key cache invalidations that had failed before', { keys: hashes.length })
    } catch (error) {
      logger.debug('key cache invalidations still unpublished', { error, keys: hashes.length })
    }
  }

  async function poll(): Promise<void> {
    try {
      await watcher.poll()
      if (degraded) {
        // Other instances' changes made while polls failed may never be seen (their lists expire,
        // or were never written): start over.
        target.clear()
        logger.info('key cache invalidation polling recovered')
      }
      degraded = false
      await publishPending()
    } catch (error) {
      // Redis down must not take authentication down: keep serving from cache and Postgres.
      if (!degraded) {
        logger.warn('key cache invalidation poll failed; caching keys for 5 s only', { error })
        // What is cached may already have been changed elsewhere: 5 s at most from now on.
        known.capTtl(DEGRADED_TTL_MS)
      }
      degraded = true
    } finally {
      lastPoll = clock()
    }
  }
  const pollOnce = () => {
    polling ??= poll().finally(() => {
      polling = undefined
    })
    return polling
  }
  const stopTimer = deps.timers?.every(POLL_INTERVAL_MS, pollOnce)

  function read(hash: string): Promise<VirtualKey | undefined> {
    const started = generation
    const pending = load(hash)
      .then((key) => {
        if (started === generation) {
          if (key) known.set(hash, key, degraded ? Math.min(ttlMs, DEGRADED_TTL_MS) : ttlMs)
          else unknown.set(hash, true, NEGATIVE_TTL_MS)
        }
        return key
      })
      .finally(() => {
        if (inflight.get(hash) === pending) inflight.delete(hash)
      })
    inflight.set(hash, pending)
    return pending
  }

  return {
    async lookup(hash) {
      // Without a timer (Workers, Lambda) the poll happens here, at most every 250 ms.
      // A wall clock that stepped back (elapsed < 0) must not stop polling either.
      const elapsed = clock() - lastPoll
      if (!stopTimer && (elapsed >= POLL_INTERVAL_MS || elapsed < 0)) await pollOnce()
      const hit = known.get(hash)
      if (hit) return hit.value
      if (unknown.get(hash)) return undefined
      // Concurrent misses for the same key share one query.
      return inflight.get(hash) ?? read(hash)
    },

    async invalidate(hashes) {
      if (hashes.length === 0) return
      // Synchronous, before the first await: this instance never serves the old record again.
      target.evict(hashes)
      try {
        await publishInvalidation(counters, hashes)
      } catch (error) {
        for (const hash of hashes) pending.add(hash)
        logger.warn(
          'could not publish a key cache invalidation; published again after the next successful poll',
          { error, keys: hashes.length },
        )
        return
      }
      await publishPending()
    },

    close() {
      stopTimer?.()
    },
  }
}
