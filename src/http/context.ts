import type { Caller } from '../auth/master-key'
import type { GatewayConfig } from '../config/types'
import type { Env } from '../env'
import type { Logger } from '../observability/logger'
import type { ModelGroups } from '../router/model-groups'

/** What every route handler gets: built once in createApp, shared by all requests. */
export interface Gateway {
  config: GatewayConfig
  env: Env
  groups: ModelGroups
  fetch: typeof fetch
  logger: Logger
  /** Milliseconds from a monotonic clock, for durations. */
  now: () => number
  random: () => number
  maxBodyBytes: number
  /** Default whole-call timeout in seconds when a deployment sets none. */
  defaultTimeoutSeconds: number
  authenticate: (request: Request) => Promise<Caller>
}

/** Per-request context: the adapter's `waitUntil` keeps background work alive after the response. */
export interface RequestContext {
  waitUntil?: (promise: Promise<unknown>) => void
}
