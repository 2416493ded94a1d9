import { ConfigError, type ConfigIssue } from '../../src/config/config-error'
import type { GatewayConfig } from '../../src/config/types'
import type { Env } from '../../src/env'
import type { Logger } from '../../src/observability/logger'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { migrate } from '../../src/store/migrate'
import { neonSql } from '../../src/store/neon-sql'
import { storeSettings } from '../../src/store/select'
import type { Stores } from '../../src/store/stores'
import { upstashCounters } from '../../src/store/upstash-counters'

/**
 * The stores a Worker can reach: Postgres only over Neon's SQL-over-HTTP endpoint and Redis only over
 * Upstash's REST API, because workerd (without nodejs_compat) has `fetch` but no TCP drivers.
 *
 * - `DATABASE_URL` (or `general_settings.database_url`): Postgres via `@neondatabase/serverless`.
 *   `NEON_FETCH_ENDPOINT` overrides where the queries are POSTed (default: Neon's own
 *   `https://api.<region host>/sql`), for a self-hosted Neon-compatible HTTP proxy in front of any Postgres,
 *   and for tests against a local fake.
 * - `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`: shared counters. Without them the counters
 *   live in the isolate's memory, so rate limits and key-cache invalidation are per isolate.
 * - Without a database there are no stores: only the master key works, as before stores existed.
 *
 * Returns undefined when no database is configured. Throws ConfigError for a setting a Worker cannot
 * honour, and whatever `migrate` throws when Postgres is unreachable.
 */
export async function openWorkerStores(
  config: GatewayConfig,
  env: Env,
  logger: Logger,
): Promise<Stores | undefined> {
  const settings = storeSettings(config, env)
  if (settings.counters.kind === 'redis') throw new ConfigError([tcpRedisIssue(config, env)])
  if (settings.sql.kind !== 'postgres') {
    if (settings.counters.kind === 'upstash')
      logger.warn('Upstash is configured but DATABASE_URL is not: virtual keys and spend need a database')
    return undefined
  }

  const fetchEndpoint = neonFetchEndpoint(env)
  const sql = neonSql(settings.sql.url, fetchEndpoint ? { fetchEndpoint } : {})
  let counters: Counters
  if (settings.counters.kind === 'upstash') {
    counters = upstashCounters(settings.counters)
  } else {
    // Every isolate would count on its own: a limit of N becomes N per isolate, and a deleted or
    // blocked key stays usable in other isolates until their cached copy expires (≤ 60 s).
    logger.warn(
      'no UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN: counters are per isolate, so rate limits and key-cache invalidation do not reach other isolates',
    )
    counters = memoryCounters()
  }

  // Once per isolate (the caller caches the app promise); the advisory lock in `migrate` makes
  // isolates starting together apply each migration once.
  await migrate(sql, undefined, (message) => logger.info(message))
  return { sql, counters }
}

/** `NEON_FETCH_ENDPOINT`, checked so a typo is reported by name instead of as a failed fetch. */
function neonFetchEndpoint(env: Env): string | undefined {
  const value = env.NEON_FETCH_ENDPOINT?.trim()
  if (!value) return undefined
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') {
    throw new ConfigError([
      {
        path: '',
        message: 'environment variable NEON_FETCH_ENDPOINT must be an http(s) URL such as https://host/sql',
      },
    ])
  }
  return value
}

/** Names the setting that asked for TCP Redis, so the operator knows what to remove or replace. */
function tcpRedisIssue(config: GatewayConfig, env: Env): ConfigIssue {
  const remedy =
    'Redis over TCP is not available on Cloudflare Workers; use Upstash instead (set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) or remove it'
  const router = config.routerSettings
  for (const name of ['redis_url', 'redis_host'] as const) {
    if (isSet(router[name])) return { path: `router_settings.${name}`, message: remedy }
  }
  const variable = ['REDIS_URL', 'REDIS_HOST'].find((name) => isSet(env[name])) ?? 'REDIS_URL'
  return { path: '', message: `environment variable ${variable} is set, but ${remedy}` }
}

const isSet = (value: unknown): boolean =>
  typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')
