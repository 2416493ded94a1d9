/**
 * Shared counters: the state several gateway instances must agree on (rate-limit windows, spend
 * since the last flush, cache invalidations). Implementations: Upstash REST (Workers, Lambda), Redis
 * over TCP (Node), and in-memory (one instance, the zero-setup default).
 *
 * Every operation is atomic on its own. Multi-key read-modify-write logic is a CounterScript: Lua on
 * Redis and Upstash (EVAL), and a JavaScript twin with the same semantics in memory.
 * No pub/sub: instances poll (see keys/invalidation), which works the same over REST.
 */
export interface Counters {
  readonly kind: 'upstash' | 'redis' | 'memory'
  get(key: string): Promise<string | null>
  mget(keys: readonly string[]): Promise<Array<string | null>>
  /** SET, with an expiry in seconds when given. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>
  /** Atomic INCRBY; when it creates the key and `ttlSeconds` is given, the key expires after it. */
  incr(key: string, by?: number, ttlSeconds?: number): Promise<number>
  /** Atomic INCRBYFLOAT, same expiry rule. */
  incrFloat(key: string, by: number, ttlSeconds?: number): Promise<number>
  del(keys: readonly string[]): Promise<void>
  /** Seconds to live, -1 without expiry, -2 when the key does not exist (Redis TTL semantics). */
  ttl(key: string): Promise<number>
  run<T>(script: CounterScript<T>, keys: readonly string[], args: readonly (string | number)[]): Promise<T>
  close(): Promise<void>
}

/** What the in-memory twin of a script may touch: plain string values with optional expiry. */
export interface LocalCounterState {
  get(key: string): string | null
  /** Like Redis SET: without `ttlMs` the key has no expiry (pass `ttlMs(key)` to keep the current one). */
  set(key: string, value: string, ttlMs?: number): void
  del(key: string): void
  /** Remaining time to live in ms; undefined when the key has no expiry or does not exist. */
  ttlMs(key: string): number | undefined
}

export interface CounterScript<T> {
  /** For logs and caching of the script's SHA. */
  name: string
  /** Lua for Redis/Upstash EVAL; KEYS and ARGV as given to `run`. */
  lua: string
  /** The same logic for the in-memory store (single-threaded, therefore atomic). */
  local(state: LocalCounterState, keys: readonly string[], args: readonly string[]): T
  /** Turns the raw Redis reply into T (Redis returns integers, strings, nil and arrays only). */
  parse(reply: unknown): T
}
