import { ConfigError, type ConfigIssue } from '../config/config-error'
import type { GatewayConfig } from '../config/types'
import type { Env } from '../env'

export type SqlSettings = { kind: 'postgres'; url: string } | { kind: 'embedded' }

export type CountersSettings =
  | { kind: 'upstash'; url: string; token: string }
  | { kind: 'redis'; url?: string; host?: string; port?: number; password?: string; db?: number }
  | { kind: 'memory' }

export interface StoreSettings {
  sql: SqlSettings
  counters: CountersSettings
}

/** Where a value came from, for error messages: a YAML path or an environment variable. */
interface Source {
  value: string
  where: string
}

/**
 * Which stores the settings ask for; the adapters open them with their runtime's drivers (Node: pg,
 * PGlite, ioredis; Workers: Neon HTTP, Upstash). For one setting, the config (usually an
 * `os.environ/` reference) wins over the environment variable LiteLLM also reads.
 *
 * Counters: Upstash when both UPSTASH_REDIS_REST_* are set (the only kind every runtime can reach),
 * else Redis from router_settings or REDIS_URL / REDIS_HOST…, else memory. SQL: database_url or
 * DATABASE_URL, else the embedded database. Values are checked here so a typo stops startup with the
 * setting's name; messages never repeat a value, which may hold a password.
 */
export function storeSettings(config: GatewayConfig, env: Env): StoreSettings {
  const issues: ConfigIssue[] = []
  const sql = sqlSettings(config, env, issues)
  const counters = countersSettings(config, env, issues)
  if (issues.length > 0) throw new ConfigError(issues)
  return { sql, counters }
}

function sqlSettings(config: GatewayConfig, env: Env, issues: ConfigIssue[]): SqlSettings {
  const source =
    pick(config.generalSettings.database_url, 'general_settings.database_url') ?? pickEnv(env, 'DATABASE_URL')
  if (!source) return { kind: 'embedded' }
  checkUrl(source, ['postgres:', 'postgresql:'], 'a postgres://user:password@host:5432/database URL', issues)
  return { kind: 'postgres', url: source.value }
}

function countersSettings(config: GatewayConfig, env: Env, issues: ConfigIssue[]): CountersSettings {
  const upstashUrl = pickEnv(env, 'UPSTASH_REDIS_REST_URL')
  const upstashToken = pickEnv(env, 'UPSTASH_REDIS_REST_TOKEN')
  if (upstashUrl && upstashToken) {
    checkUrl(upstashUrl, ['https:', 'http:'], 'an https:// URL', issues)
    return { kind: 'upstash', url: upstashUrl.value, token: upstashToken.value }
  }
  if (upstashUrl || upstashToken) {
    const missing = upstashUrl ? 'UPSTASH_REDIS_REST_TOKEN' : 'UPSTASH_REDIS_REST_URL'
    const set = upstashUrl ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN'
    issues.push({ path: '', message: `environment variable ${set} is set but ${missing} is not` })
    return { kind: 'memory' }
  }

  const router = config.routerSettings
  const configHost = pick(router.redis_host, 'router_settings.redis_host')
  // A URL wins over host/port (as in LiteLLM), but a Redis named in the config wins over the environment.
  const url =
    pick(router.redis_url, 'router_settings.redis_url') ??
    (configHost ? undefined : pickEnv(env, 'REDIS_URL'))
  if (url) {
    checkUrl(url, ['redis:', 'rediss:'], 'a redis://[:password@]host:6379[/db] URL', issues)
    return { kind: 'redis', url: url.value }
  }
  const host = configHost ?? pickEnv(env, 'REDIS_HOST')
  if (!host) return { kind: 'memory' }
  const port = pick(router.redis_port, 'router_settings.redis_port') ?? pickEnv(env, 'REDIS_PORT')
  const password =
    pick(router.redis_password, 'router_settings.redis_password') ?? pickEnv(env, 'REDIS_PASSWORD')
  const db = pick(router.redis_db, 'router_settings.redis_db') ?? pickEnv(env, 'REDIS_DB')
  const settings: CountersSettings = { kind: 'redis', host: host.value }
  if (port) settings.port = integer(port, 1, 65535, issues)
  if (password) settings.password = password.value
  if (db) settings.db = integer(db, 0, 1_000_000, issues)
  return settings
}

/** A set, non-empty config value (numbers from YAML included). */
function pick(value: unknown, where: string): Source | undefined {
  if (typeof value === 'number') return { value: String(value), where }
  return typeof value === 'string' && value.trim() !== '' ? { value: value.trim(), where } : undefined
}

const pickEnv = (env: Env, name: string): Source | undefined =>
  pick(env[name], `environment variable ${name}`)

/** ConfigIssue for a source: config values are located by YAML path, variables by name. */
function issue(source: Source, message: string): ConfigIssue {
  return source.where.startsWith('environment variable ')
    ? { path: '', message: `${source.where} ${message}` }
    : { path: source.where, message }
}

function checkUrl(source: Source, schemes: string[], expected: string, issues: ConfigIssue[]): void {
  let url: URL
  try {
    url = new URL(source.value)
  } catch {
    issues.push(issue(source, `is not a valid URL; expected ${expected}`))
    return
  }
  if (!schemes.includes(url.protocol)) {
    issues.push(issue(source, `has the scheme ${url.protocol.slice(0, 20)}; expected ${expected}`))
  } else if (url.hostname === '') {
    issues.push(issue(source, `names no host; expected ${expected}`))
  }
}

function integer(source: Source, min: number, max: number, issues: ConfigIssue[]): number {
  const n = Number(source.value)
  if (!Number.isInteger(n) || n < min || n > max) {
    issues.push(issue(source, `must be an integer from ${min} to ${max}, got ${source.value.slice(0, 20)}`))
  }
  return n
}
