import type { Counters } from '../store/counters'

/**
 * Cross-instance cache invalidation without pub/sub (Upstash REST has none that a Worker can hold
 * open). A change bumps a shared epoch and records, under the new epoch, which key hashes changed;
 * every instance polls the epoch and evicts what changed since the epoch it last saw. When it
 * cannot tell (the change lists expired, a gap, the counter went backwards after a Redis restart)
 * it clears its whole cache: over-eviction costs one Postgres read per key, staleness costs a
 * revoked key that still works.
 */
export const EPOCH_KEY = 'keys:epoch'
export const changedKey = (epoch: number) => `keys:changed:${epoch}`

/** Long enough for an instance that missed a few polls (GC pause, Redis blip) to catch up. */
const CHANGED_TTL_SECONDS = 300
/** Further behind than this, clearing is cheaper than reading every list. */
const MAX_CATCH_UP = 100

export async function publishInvalidation(counters: Counters, hashes: readonly string[]): Promise<void> {
  const epoch = await counters.incr(EPOCH_KEY)
  await counters.set(changedKey(epoch), JSON.stringify(hashes), CHANGED_TTL_SECONDS)
}

export interface InvalidationTarget {
  evict(hashes: readonly string[]): void
  clear(): void
}

export class EpochWatcher {
  private seen: number | undefined

  constructor(
    private readonly counters: Counters,
    private readonly target: InvalidationTarget,
  ) {}

  /** One poll: reads the epoch and evicts (or clears) accordingly. Throws when Redis does. */
  async poll(): Promise<void> {
    const raw = await this.counters.get(EPOCH_KEY)
    const epoch = raw === null ? 0 : Number(raw)
    const seen = this.seen
    // First poll: entries cached before it may predate a change this instance never saw.
    if (seen === undefined || !Number.isSafeInteger(epoch)) return this.clearAt(epoch)
    if (epoch === seen) return
    if (epoch < seen || epoch - seen > MAX_CATCH_UP) return this.clearAt(epoch)
    const keys: string[] = []
    for (let e = seen + 1; e <= epoch; e++) keys.push(changedKey(e))
    // `seen` moves only after the lists are read: a failed read is retried on the next poll.
    const lists = await this.counters.mget(keys)
    const hashes = new Set<string>()
    for (const list of lists) {
      const parsed = parseList(list)
      if (!parsed) return this.clearAt(epoch)
      for (const hash of parsed) hashes.add(hash)
    }
    this.seen = epoch
    this.target.evict([...hashes])
  }

  private clearAt(epoch: number): void {
    this.seen = Number.isSafeInteger(epoch) ? epoch : undefined
    this.target.clear()
  }
}

function parseList(raw: string | null): string[] | undefined {
  if (raw === null) return undefined
  try {
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) && value.every((h) => typeof h === 'string') ? value : undefined
  } catch {
    return undefined
  }
}
