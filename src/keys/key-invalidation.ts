import type { Counters } from '../store/counters'

/**
 * Cross-instance cache invalidation without pub/sub (Upstash REST has none that a Worker can hold
 * open). A change bumps a shared epoch and records, under the new epoch, which key hashes changed;
 * every instance polls the epoch and evicts what changed since the epoch it last saw. When it
 * cannot tell (the change lists expired, a gap, the counter went backwards, or the epoch belongs to
 * another generation because Redis restarted or lost its data) it clears its whole cache:
 * over-eviction costs one Postgres read per key, staleness costs a revoked key that still works.
 *
 * Generations: the epoch carries a random generation id in its high part (epoch = generation ×
 * GENERATION_STEP + count). A Redis that lost the epoch counts again from 1; the first publisher to
 * see a count without a generation jumps it to a new random one. Without that, an epoch reset and
 * counted back up to (or just past) what an instance last saw would look like "no change" or "a
 * few changes", and the changes in between would never be evicted. Kept in the one counter (no
 * separate key) so a poll stays a single GET.
 */
export const EPOCH_KEY = 'keys:epoch'
export const changedKey = (epoch: number) => `keys:changed:${epoch}`

/** Changes per generation before the count runs into the next one (then instances clear once). */
export const GENERATION_STEP = 2 ** 20
/** Generations are 1 … 2^28-1: far below 2^53 even after several concurrent jumps. */
const MAX_GENERATION = 2 ** 28
/** Long enough for an instance that missed a few polls (GC pause, Redis blip) to catch up. */
const CHANGED_TTL_SECONDS = 300
/** Further behind than this, clearing is cheaper than reading every list. */
const MAX_CATCH_UP = 100
/** A change list that is not a list of hashes: every instance clears its whole cache. */
const CLEAR_ALL = '"*"'

const randomGeneration = (): number => {
  const [value = 0] = crypto.getRandomValues(new Uint32Array(1))
  return 1 + (value % (MAX_GENERATION - 1))
}

/** Publishes a change of these keys, or (`'all'`) of any key: every instance then clears its cache. */
export async function publishInvalidation(
  counters: Counters,
  hashes: readonly string[] | 'all',
  generation: () => number = randomGeneration,
): Promise<void> {
  let epoch = await counters.incr(EPOCH_KEY)
  // No generation yet: the first change ever, or Redis lost the epoch. Epochs between this incr and
  // the jump have no list, so an instance that reads one clears (safe).
  if (epoch < GENERATION_STEP) epoch = await counters.incr(EPOCH_KEY, generation() * GENERATION_STEP)
  // Should this fail, the epoch moved without a list: watchers then clear (see parseList), safe too.
  await counters.set(
    changedKey(epoch),
    hashes === 'all' ? CLEAR_ALL : JSON.stringify(hashes),
    CHANGED_TTL_SECONDS,
  )
}

export interface InvalidationTarget {
  evict(hashes: readonly string[]): void
  clear(): void
}

const generationOf = (epoch: number) => Math.floor(epoch / GENERATION_STEP)

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
    // Another generation (Redis lost its data), backwards, or too far behind: start over.
    if (generationOf(epoch) !== generationOf(seen) || epoch < seen || epoch - seen > MAX_CATCH_UP) {
      return this.clearAt(epoch)
    }
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

/** The hashes of one change list; undefined when it is missing, unreadable or CLEAR_ALL. */
function parseList(raw: string | null): string[] | undefined {
  if (raw === null) return undefined
  try {
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) && value.every((h) => typeof h === 'string') ? value : undefined
  } catch {
    return undefined
  }
}
