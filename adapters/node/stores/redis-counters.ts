import { createHash } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { incrFloatScript, incrScript, ttlToMs } from '../../../src/store/counter-scripts'
import type { CounterScript, Counters } from '../../../src/store/counters'

export interface RedisConnection {
  /** `redis://` or `rediss://`; wins over host/port. */
  url?: string
  host?: string
  port?: number
  password?: string
  db?: number
}

/**
 * Fail fast instead of queueing: with the offline queue off, commands during an outage reject at once
 * (ioredis keeps reconnecting in the background) rather than piling up behind requests. A command on
 * a connection that hangs is abandoned after commandTimeout.
 *
 * Nothing is sent twice: by default ioredis re-sends, after a reconnect, every command whose reply
 * the lost connection never delivered. For the spend scripts (INCRBYFLOAT inside) that is a double
 * count whenever the first send did run and only its reply was lost. With
 * `autoResendUnfulfilledCommands` off such a command fails instead and its caller decides: spend
 * totals are then off by at most that call (logged), never silently by twice it.
 */
const FAIL_FAST: RedisOptions = {
  connectTimeout: 2000,
  commandTimeout: 2000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  lazyConnect: true,
}

/**
 * Counters on Redis over TCP (ioredis). Connects before returning, because with the offline queue off
 * a command sent before the connection is ready would fail; a failed connect is thrown, not retried.
 */
export async function redisCounters(connection: string | RedisConnection): Promise<Counters> {
  const c = typeof connection === 'string' ? { url: connection } : connection
  const options: RedisOptions = { ...FAIL_FAST, ...(c.password ? { password: c.password } : {}) }
  if (c.db !== undefined) options.db = c.db
  const client = c.url
    ? new Redis(c.url, options)
    : new Redis({ ...options, host: c.host ?? '127.0.0.1', port: c.port ?? 6379 })
  // ioredis emits 'error' on every failed reconnect; unhandled, an EventEmitter 'error' ends Node.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    client.disconnect()
    throw error
  }

  const shas = new WeakMap<CounterScript<unknown>, string>()
  const run = async <T>(
    script: CounterScript<T>,
    keys: readonly string[],
    args: readonly (string | number)[],
  ) => {
    let sha = shas.get(script)
    if (sha === undefined) {
      sha = createHash('sha1').update(script.lua).digest('hex')
      shas.set(script, sha)
    }
    const rest = [...keys, ...args.map(String)]
    try {
      return script.parse(await client.evalsha(sha, keys.length, ...rest))
    } catch (error) {
      // Scripts are cached per server: a restart, failover or SCRIPT FLUSH forgets them.
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return script.parse(await client.eval(script.lua, keys.length, ...rest))
    }
  }

  const incrWith = async (script: CounterScript<number>, key: string, by: number, ttlSeconds?: number) => {
    const ttlMs = ttlToMs(ttlSeconds)
    if (ttlMs !== undefined) return run(script, [key], [String(by), String(ttlMs)])
    return script === incrScript ? client.incrby(key, by) : Number(await client.incrbyfloat(key, by))
  }

  return {
    kind: 'redis',
    get: (key) => client.get(key),
    mget: async (keys) => (keys.length === 0 ? [] : client.mget(...keys)),
    set: async (key, value, ttlSeconds) => {
      const px = ttlToMs(ttlSeconds)
      await (px === undefined ? client.set(key, value) : client.set(key, value, 'PX', px))
    },
    incr: (key, by = 1, ttlSeconds) => incrWith(incrScript, key, by, ttlSeconds),
    incrFloat: (key, by, ttlSeconds) => incrWith(incrFloatScript, key, by, ttlSeconds),
    del: async (keys) => {
      if (keys.length > 0) await client.del(...keys)
    },
    ttl: (key) => client.ttl(key),
    run,
    close: async () => {
      await client.quit().catch(() => client.disconnect())
    },
  }
}
