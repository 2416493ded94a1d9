/**
 * Pieces for running the gateway (or its spend service) in process, on the stores the embedded
 * Node setup uses: PGlite in memory, migrated, and in-memory counters. Each piece stands alone, so a
 * test takes only the ones it needs.
 */
import { pgliteSql } from '../../adapters/node/stores/pglite-sql'
import { type App, createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import type { GatewayConfig } from '../../src/config/types'
import { silentLogger } from '../../src/observability/logger'
import { memoryCounters } from '../../src/store/memory-counters'
import { migrate } from '../../src/store/migrate'
import type { Sql } from '../../src/store/sql'
import type { Timers } from '../../src/timers'

/** A config with no deployments and no settings (every spend setting at its default). */
export function emptyGatewayConfig(): GatewayConfig {
  return {
    deployments: [],
    litellmSettings: {},
    routerSettings: {},
    generalSettings: {},
    environmentVariables: {},
    warnings: [],
  }
}

/** Registered but never fired: the test flushes (or closes) explicitly. */
export const idleTimers: Timers = { every: () => () => {} }

export interface ManualTimers {
  timers: Timers
  /** The tasks registered and not stopped yet, with their period. */
  tasks: Array<{ ms: number; task: () => Promise<void> }>
  /** Every period ever registered, in order. */
  registered: number[]
  /** Runs every registered task once, all at the same time. */
  tick(): Promise<void>
}

/** Timers the test drives: nothing runs until `tick()` (or a task picked from `tasks`). */
export function manualTimers(): ManualTimers {
  const tasks: ManualTimers['tasks'] = []
  const registered: number[] = []
  const timers: Timers = {
    every(ms, task) {
      const entry = { ms, task }
      registered.push(ms)
      tasks.push(entry)
      return () => {
        const at = tasks.indexOf(entry)
        if (at >= 0) tasks.splice(at, 1)
      }
    },
  }
  return {
    timers,
    tasks,
    registered,
    tick: async () => {
      await Promise.all(tasks.map((entry) => entry.task()))
    },
  }
}

/** PGlite in memory with every migration applied. */
export async function migratedPglite(): Promise<Sql> {
  const sql = pgliteSql('memory://')
  await migrate(sql)
  return sql
}

/** Empties the tables spend is written to (the schema stays), for a fresh start before each test. */
export async function truncateSpendTables(sql: Sql): Promise<void> {
  await sql.query(
    `TRUNCATE "LiteLLM_SpendLogs", "LiteLLM_VerificationToken", "LiteLLM_UserTable", "LiteLLM_TeamTable"`,
  )
}

export interface InProcessAppOptions {
  /** proxy_config.yaml text. */
  config: string
  masterKey: string
  /** Default: none, so background work runs through waitUntil as on Workers and Lambda. */
  timers?: Timers
  clock?: () => number
}

/** createApp on `sql` and fresh in-memory counters, with a silent logger and no environment. */
export async function createInProcessApp(sql: Sql, options: InProcessAppOptions): Promise<App> {
  return createApp({
    config: await parseConfig(options.config, {}),
    env: {},
    masterKey: options.masterKey,
    logger: silentLogger,
    timers: options.timers,
    clock: options.clock,
    stores: { sql, counters: memoryCounters() },
  })
}

export interface WaitUntilQueue {
  /** What app.fetch hands to `waitUntil` (spend writes, totals updates). */
  waitUntil: (promise: Promise<unknown>) => void
  /** Waits for everything handed over so far, and for what that hands over in turn. */
  settle(): Promise<void>
}

export function waitUntilQueue(): WaitUntilQueue {
  const pending: Promise<unknown>[] = []
  return {
    waitUntil: (promise) => {
      pending.push(promise)
    },
    settle: async () => {
      while (pending.length > 0) await Promise.all(pending.splice(0))
    },
  }
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
export interface JsonAnswer<Json = any> {
  status: number
  json: Json
}

/**
 * `send(path, body?, key?)` through `app().fetch`: a GET without a body, else a POST of the body as
 * JSON, with `key` (default `masterKey`) as the bearer token; answers the status and the JSON body.
 */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
export function jsonSender<Json = any>(
  app: () => App,
  masterKey: string,
  waitUntil: (promise: Promise<unknown>) => void,
): (path: string, body?: unknown, key?: string) => Promise<JsonAnswer<Json>> {
  return async (path, body, key = masterKey) => {
    const init: RequestInit = {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }
    const response = await app().fetch(new Request(`http://gw${path}`, init), { waitUntil })
    return { status: response.status, json: (await response.json()) as Json }
  }
}
