/**
 * A bounded LRU map with per-entry expiry: LiteLLM's in-memory `user_api_key_cache` (TTL
 * `user_api_key_cache_ttl`, 60 s by default), with a size bound so a long-lived instance with many
 * keys cannot grow without limit. Map iteration order is insertion order, so the first entry is
 * the least recently used one.
 */
export class TtlLruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>()

  constructor(
    private readonly maxEntries: number,
    private readonly clock: () => number,
  ) {}

  /** The entry if present and fresh (then it becomes the most recently used); else undefined. */
  get(key: string): { value: V } | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.entries.delete(key)
    if (entry.expiresAt <= this.clock()) return undefined
    this.entries.set(key, entry)
    return entry
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt: this.clock() + ttlMs })
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
  }

  /** Shortens every entry to at most `ttlMs` from now (entries that expire sooner keep their time). */
  capTtl(ttlMs: number): void {
    const latest = this.clock() + ttlMs
    for (const entry of this.entries.values()) entry.expiresAt = Math.min(entry.expiresAt, latest)
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
