import { incrFloatScript, incrScript, ttlToMs } from './counter-scripts'
import type { Counters, LocalCounterState } from './counters'

interface Entry {
  value: string
  /** Epoch ms (of the injected clock) after which the key is gone; undefined: never. */
  expiresAt: number | undefined
}

/** Writes between sweeps of expired entries: bounds memory without a timer (Workers have none to spare). */
const SWEEP_EVERY = 1000

export interface MemoryCounters extends Counters {
  /** Live and not-yet-swept entries, for tests of the sweep. */
  readonly size: number
}

/**
 * Counters for a single instance: a Map with Redis semantics (SET clears the expiry, INCR keeps it,
 * TTL rounds like Redis). Expired keys disappear lazily when read and in a sweep every
 * SWEEP_EVERY writes. Everything is synchronous, so scripts' JavaScript twins are atomic.
 */
export function memoryCounters(now: () => number = Date.now): MemoryCounters {
  const entries = new Map<string, Entry>()
  let writes = 0

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  const sweep = (): void => {
    const time = now()
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= time) entries.delete(key)
    }
  }

  const state: LocalCounterState = {
    get: (key) => live(key)?.value ?? null,
    set: (key, value, ttlMs) => {
      if (++writes % SWEEP_EVERY === 0) sweep()
      entries.set(key, { value, expiresAt: ttlMs === undefined ? undefined : now() + ttlMs })
    },
    del: (key) => {
      entries.delete(key)
    },
    ttlMs: (key) => {
      const expiresAt = live(key)?.expiresAt
      return expiresAt === undefined ? undefined : expiresAt - now()
    },
  }

  // Async like the networked stores, so callers cannot come to rely on synchronous effects.
  return {
    kind: 'memory',
    get size() {
      return entries.size
    },
    get: async (key) => state.get(key),
    mget: async (keys) => keys.map((key) => state.get(key)),
    set: async (key, value, ttlSeconds) => state.set(key, value, ttlToMs(ttlSeconds)),
    incr: async (key, by = 1, ttlSeconds) =>
      incrScript.local(state, [key], [String(by), String(ttlToMs(ttlSeconds) ?? '')]),
    incrFloat: async (key, by, ttlSeconds) =>
      incrFloatScript.local(state, [key], [String(by), String(ttlToMs(ttlSeconds) ?? '')]),
    del: async (keys) => {
      for (const key of keys) state.del(key)
    },
    ttl: async (key) => {
      if (live(key) === undefined) return -2
      const ms = state.ttlMs(key)
      // Redis' TTL rounds the remaining milliseconds to the nearest second.
      return ms === undefined ? -1 : Math.floor((ms + 500) / 1000)
    },
    run: async (script, keys, args) => script.local(state, keys, args.map(String)),
    close: async () => {
      entries.clear()
    },
  }
}
