/** Which stores a config + environment select (src/store/select.ts); pure, no services needed. */
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import type { GatewayConfig } from '../../src/config/types'
import { storeSettings } from '../../src/store/select'

function config(sections: { general?: Record<string, unknown>; router?: Record<string, unknown> } = {}) {
  return {
    deployments: [],
    litellmSettings: {},
    routerSettings: sections.router ?? {},
    generalSettings: sections.general ?? {},
    environmentVariables: {},
    warnings: [],
  } satisfies GatewayConfig
}

function configError(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('storeSettings', () => {
  it('defaults to the embedded database and in-memory counters', () => {
    expect(storeSettings(config(), {})).toEqual({ sql: { kind: 'embedded' }, counters: { kind: 'memory' } })
    expect(storeSettings(config(), { DATABASE_URL: '', REDIS_URL: ' ' })).toEqual({
      sql: { kind: 'embedded' },
      counters: { kind: 'memory' },
    })
  })

  it('takes database_url from the config before DATABASE_URL', () => {
    const env = { DATABASE_URL: 'postgres://env@db/env' }
    expect(storeSettings(config(), env).sql).toEqual({ kind: 'postgres', url: 'postgres://env@db/env' })
    const fromConfig = config({ general: { database_url: 'postgresql://cfg:pw@db:5433/cfg' } })
    expect(storeSettings(fromConfig, env).sql).toEqual({
      kind: 'postgres',
      url: 'postgresql://cfg:pw@db:5433/cfg',
    })
  })

  it('prefers Upstash, then Redis from router_settings, then REDIS_URL / REDIS_HOST', () => {
    const upstash = { UPSTASH_REDIS_REST_URL: 'https://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't0k' }
    const router = config({
      router: { redis_host: 'cfg-host', redis_port: 6380, redis_password: 'pw', redis_db: 2 },
    })
    expect(storeSettings(router, { ...upstash, REDIS_URL: 'redis://env:6379' }).counters).toEqual({
      kind: 'upstash',
      url: 'https://x.upstash.io',
      token: 't0k',
    })
    expect(storeSettings(router, { REDIS_URL: 'redis://env:6379' }).counters).toEqual({
      kind: 'redis',
      host: 'cfg-host',
      port: 6380,
      password: 'pw',
      db: 2,
    })
    expect(storeSettings(config({ router: { redis_url: 'rediss://:pw@cfg:6380/1' } }), {}).counters).toEqual({
      kind: 'redis',
      url: 'rediss://:pw@cfg:6380/1',
    })
    expect(storeSettings(config(), { REDIS_URL: 'redis://env:6379' }).counters).toEqual({
      kind: 'redis',
      url: 'redis://env:6379',
    })
    expect(
      storeSettings(config(), { REDIS_HOST: 'h', REDIS_PORT: '6390', REDIS_PASSWORD: 'p', REDIS_DB: '3' })
        .counters,
    ).toEqual({ kind: 'redis', host: 'h', port: 6390, password: 'p', db: 3 })
    // Per setting, the config wins and the environment fills the gaps.
    expect(
      storeSettings(config({ router: { redis_host: 'cfg' } }), { REDIS_PASSWORD: 'envpw' }).counters,
    ).toEqual({
      kind: 'redis',
      host: 'cfg',
      password: 'envpw',
    })
  })

  it('names every malformed setting at once without repeating passwords', () => {
    const error = configError(() =>
      storeSettings(
        config({ general: { database_url: 'mysql://u:s3cret@db/x' }, router: { redis_port: 0 } }),
        {
          REDIS_HOST: 'h',
          REDIS_URL: '',
        },
      ),
    )
    expect(error.issues).toEqual([
      {
        path: 'general_settings.database_url',
        message: 'has the scheme mysql:; expected a postgres://user:password@host:5432/database URL',
      },
      { path: 'router_settings.redis_port', message: 'must be an integer from 1 to 65535, got 0' },
    ])
    const env = configError(() =>
      storeSettings(config(), { DATABASE_URL: 'not a url s3cret', REDIS_URL: 'http://x' }),
    )
    expect(env.message).toBe(
      [
        'environment variable DATABASE_URL is not a valid URL; expected a postgres://user:password@host:5432/database URL',
        'environment variable REDIS_URL has the scheme http:; expected a redis://[:password@]host:6379[/db] URL',
      ].join('\n'),
    )
    expect(env.message).not.toContain('s3cret')
    expect(error.message).not.toContain('s3cret')
  })

  it('requires both Upstash variables', () => {
    const error = configError(() =>
      storeSettings(config(), { UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' }),
    )
    expect(error.message).toBe(
      'environment variable UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not',
    )
  })
})
