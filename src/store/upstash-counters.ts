import { Redis } from '@upstash/redis/cloudflare'
import { incrFloatScript, incrScript, ttlToMs } from './counter-scripts'
import type { CounterScript, Counters } from './counters'

export interface UpstashCountersOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string
  /** Per-request deadline (ms); an unreachable Upstash fails requests instead of holding them. */
  timeoutMs?: number
}

type UpstashScript = ReturnType<Redis['createScript']>

/**
 * Counters over Upstash's REST API with `@upstash/redis` (its fetch-only build, for Workers).
 *
 * - `automaticDeserialization: false`: the client would otherwise JSON-parse every reply ("42" → 42,
 *   "1e3" → 1000), so stored strings would not come back as stored.
 * - Auto-pipelining stays on: commands issued in the same tick share one HTTP request, which matters
 *   under Workers' subrequest limits.
 * - The client retries network errors 5 times with exponential backoff by default (≈ 8 s). Here it
 *   retries nothing: a network error can hide a command that did run, and re-sending a spend script
 *   (INCRBYFLOAT inside) or an INCRBY would count it twice. Commands that can safely run twice
 *   (GET, MGET, SET, DEL, TTL) get one quick retry of our own (`idempotent`); scripts and increments
 *   fail and their callers decide. Each request gets a deadline. (One client, not a second one with
 *   retries for reads: the client's read-your-writes token is per client.)
 * - The client has no per-instance `fetch` option (it calls the global one), so none is offered here.
 */
export function upstashCounters(opts: UpstashCountersOptions): Counters {
  const timeoutMs = opts.timeoutMs ?? 3000
  const redis = new Redis({
    url: opts.url,
    token: opts.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 0 },
    // A function, so every request gets a fresh deadline (and the client rethrows the abort).
    signal: () => AbortSignal.timeout(timeoutMs),
  })
  const scripts = new WeakMap<CounterScript<unknown>, UpstashScript>()

  // Upstash's Script computes the SHA-1 once, sends EVALSHA and falls back to EVAL on NOSCRIPT.
  const run = async <T>(
    script: CounterScript<T>,
    keys: readonly string[],
    args: readonly (string | number)[],
  ) => {
    let prepared = scripts.get(script)
    if (!prepared) {
      prepared = redis.createScript(script.lua)
      scripts.set(script, prepared)
    }
    return script.parse(await prepared.exec([...keys], args.map(String)))
  }

  const incrWith = async (script: CounterScript<number>, key: string, by: number, ttlSeconds?: number) => {
    const ttlMs = ttlToMs(ttlSeconds)
    if (ttlMs === undefined) {
      const reply = script === incrScript ? await redis.incrby(key, by) : await redis.incrbyfloat(key, by)
      return Number(reply)
    }
    return run(script, [key], [String(by), String(ttlMs)])
  }

  return {
    kind: 'upstash',
    get: async (key) => asText(await idempotent(() => redis.get(key))),
    mget: async (keys) =>
      keys.length === 0 ? [] : (await idempotent(() => redis.mget(...keys))).map(asText),
    set: async (key, value, ttlSeconds) => {
      const px = ttlToMs(ttlSeconds)
      await idempotent(() => (px === undefined ? redis.set(key, value) : redis.set(key, value, { px })))
    },
    incr: (key, by = 1, ttlSeconds) => incrWith(incrScript, key, by, ttlSeconds),
    incrFloat: (key, by, ttlSeconds) => incrWith(incrFloatScript, key, by, ttlSeconds),
    del: async (keys) => {
      if (keys.length > 0) await idempotent(() => redis.del(...keys))
    },
    ttl: async (key) => Number(await idempotent(() => redis.ttl(key))),
    run,
    // REST: no connection to close.
    close: async () => {},
  }
}

/**
 * One retry after 50 ms for a command that may run twice, on a network error only (what the
 * client's own retry covered): a reply with an error from Redis, or our deadline, is final.
 */
async function idempotent<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
    await new Promise((resolve) => setTimeout(resolve, 50))
    return send()
  }
}

/** Replies arrive base64-decoded but otherwise raw: strings, or null for a missing key. */
function asText(reply: unknown): string | null {
  if (reply === null || reply === undefined) return null
  return typeof reply === 'string' ? reply : String(reply)
}
