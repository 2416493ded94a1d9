import type { GatewayConfig } from '../../src/config/types'
import type { Env } from '../../src/env'
import type { Logger } from '../../src/observability/logger'
import { migrate } from '../../src/store/migrate'
import { storeSettings } from '../../src/store/select'
import type { Stores } from '../../src/store/stores'
import { openNodeStores } from '../node/stores/open-stores'

/**
 * The stores on Lambda, which is Node: Postgres over TCP (pg) for `DATABASE_URL`, and Redis over TCP
 * (`REDIS_URL`, `REDIS_HOST`…) or Upstash for the counters, else in-memory ones.
 *
 * Without a database there are no stores (only the master key works): the embedded PGlite the Node
 * adapter falls back to would live in /tmp, which is private to one execution environment and gone
 * when it is recycled, so keys and spend would silently vanish.
 *
 * Opened, checked and migrated once per execution environment (the caller caches the app).
 */
export async function openLambdaStores(
  config: GatewayConfig,
  env: Env,
  logger: Logger,
): Promise<Stores | undefined> {
  const settings = storeSettings(config, env)
  if (settings.sql.kind !== 'postgres') {
    if (settings.counters.kind !== 'memory')
      logger.warn('Redis is configured but DATABASE_URL is not: virtual keys and spend need a database')
    return undefined
  }
  if (settings.counters.kind === 'memory') {
    logger.warn(
      'no Redis configured: counters are per execution environment, so rate limits and key-cache invalidation do not reach other concurrent invocations',
    )
  }
  // `dataDir` is only for the embedded database, which the check above rules out.
  const stores = await openNodeStores(settings, { dataDir: '/tmp/unused' })
  try {
    await migrate(stores.sql, undefined, (message) => logger.info(message))
  } catch (error) {
    await Promise.allSettled([stores.sql.close(), stores.counters.close()])
    throw error
  }
  return stores
}
