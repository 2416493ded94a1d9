/**
 * In-process gateways for the keys-review-* suites: createApp on PGlite in memory (migrated) and
 * in-memory counters, driven through app.fetch. Self-contained on purpose (test/helpers is being
 * reworked separately). Two extras: counters that can be taken down (or lose their data, like a
 * Redis restart), and a Sql that hides the rows of chosen "already exists?" checks, so a request
 * behaves exactly as one that ran its check just before a concurrent request's insert.
 */
import { pgliteSql } from '../../adapters/node/stores/pglite-sql'
import { type App, createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import type { GatewayConfig } from '../../src/config/types'
import { silentLogger } from '../../src/observability/logger'
import type { CounterScript, Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { migrate } from '../../src/store/migrate'
import type { Row, Sql, Statement } from '../../src/store/sql'

export const MASTER = 'sk-master-key-1234'

export const CONFIG = `
model_list:
  - model_name: model-a
    litellm_params: { model: mock/x, mock_response: hi }
  - model_name: model-b
    litellm_params: { model: mock/x, mock_response: hi }
  - model_name: model-c
    litellm_params: { model: mock/x, mock_response: hi }
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
export type Json = any

export interface Answer {
  status: number
  json: Json
}

/** A wall clock the test moves by hand (cache TTLs, poll intervals, counter expiry). */
export function manualClock(start = Date.parse('2026-03-02T10:00:00Z')) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

export async function migratedSql(): Promise<Sql> {
  const sql = pgliteSql('memory://')
  await migrate(sql)
  return sql
}

export interface Instance {
  app: App
  config: GatewayConfig
  /** Any route; `body` makes it a JSON POST (GET without). */
  call(method: string, path: string, body?: unknown, key?: string): Promise<Answer>
  chat(key: string, model: string): Promise<Answer>
}

/** One gateway instance on the given stores. */
export async function instance(
  sql: Sql,
  counters: Counters,
  clock?: () => number,
  config = CONFIG,
): Promise<Instance> {
  const parsed = await parseConfig(config, {})
  const app = createApp({
    config: parsed,
    env: {},
    masterKey: MASTER,
    logger: silentLogger,
    clock,
    stores: { sql, counters },
  })
  async function call(method: string, path: string, body?: unknown, key = MASTER): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
    const response = await app.fetch(new Request(`http://gw${path}`, init))
    const text = await response.text()
    let json: Json = text
    try {
      json = JSON.parse(text)
    } catch {}
    return { status: response.status, json }
  }
  const chat = (key: string, model: string) =>
    call('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello' }] }, key)
  return { app, config: parsed, call, chat }
}

/** Generates a key through `gw` and returns the response (failing the test on anything but 200). */
export async function generate(gw: Instance, body: Record<string, unknown> = {}): Promise<Json> {
  const res = await gw.call('POST', '/key/generate', body)
  if (res.status !== 200) throw new Error(`/key/generate ${JSON.stringify(body)}: ${JSON.stringify(res)}`)
  return res.json
}

export interface FlakyCounters {
  counters: Counters
  /** While true, every call rejects as a Redis that is down would. */
  down: boolean
  /** Redis restarted without persistence: everything stored is gone. */
  restart(): void
  /** The counters behind the wrapper, for reading state in assertions. */
  inner(): Counters
}

/** Counters that can be taken down or lose their data; shared by instances like one Redis. */
export function flakyCounters(clock: () => number): FlakyCounters {
  let inner: Counters = memoryCounters(clock)
  const state = { down: false }
  const guard = <T>(run: () => Promise<T>): Promise<T> =>
    state.down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) : run()
  const counters: Counters = {
    kind: 'redis',
    get: (key) => guard(() => inner.get(key)),
    mget: (keys) => guard(() => inner.mget(keys)),
    set: (key, value, ttl) => guard(() => inner.set(key, value, ttl)),
    incr: (key, by, ttl) => guard(() => inner.incr(key, by, ttl)),
    incrFloat: (key, by, ttl) => guard(() => inner.incrFloat(key, by, ttl)),
    del: (keys) => guard(() => inner.del(keys)),
    ttl: (key) => guard(() => inner.ttl(key)),
    run: <T>(script: CounterScript<T>, keys: readonly string[], args: readonly (string | number)[]) =>
      guard(() => inner.run(script, keys, args)),
    close: () => inner.close(),
  }
  return {
    counters,
    get down() {
      return state.down
    },
    set down(value: boolean) {
      state.down = value
    },
    restart() {
      inner = memoryCounters(clock)
    },
    inner: () => inner,
  }
}

/**
 * `sql`, except that queries matching `hide` answer no rows: the request's "does it exist yet?"
 * check then sees the database as it was before a concurrent request's insert, and its own write
 * meets the row that request wrote.
 */
export function racingSql(sql: Sql, hide: RegExp): Sql {
  return {
    kind: sql.kind,
    query: <T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> =>
      hide.test(text) ? Promise.resolve([]) : sql.query<T>(text, params),
    transaction: (statements: readonly Statement[]) => sql.transaction(statements),
    close: () => sql.close(),
  }
}
