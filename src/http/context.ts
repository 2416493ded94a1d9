import type { AwsAccess } from '../aws/aws-access'
import type { GatewayConfig } from '../config/types'
import type { Env } from '../env'
import type { KeyService } from '../keys/key-service'
import type { Caller } from '../keys/virtual-key'
import type { Logger } from '../observability/logger'
import type { DeploymentRouter } from '../router/deployment-router'
import type { ModelGroups } from '../router/model-groups'
import type { ReliabilitySettings } from '../router/reliability-settings'
import type { SpendService } from '../spend/spend-service'
import type { Stores } from '../store/stores'

/** What every route handler gets: built once in createApp, shared by all requests. */
export interface Gateway {
  config: GatewayConfig
  env: Env
  groups: ModelGroups
  /** Picks deployments within a group and keeps routing state (usage, latency, cooldowns). */
  router: DeploymentRouter
  /** Retries and fallbacks (router_settings / litellm_settings). */
  reliability: ReliabilitySettings
  /** Waits between retries; injected so tests need not wait. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  fetch: typeof fetch
  /** AWS credentials for providers and loaders (cached per gateway). */
  aws: AwsAccess
  logger: Logger
  /** Milliseconds from a monotonic clock, for durations. */
  now: () => number
  random: () => number
  maxBodyBytes: number
  /** Default whole-call timeout in seconds when a deployment sets none. */
  defaultTimeoutSeconds: number
  authenticate: (request: Request) => Promise<Caller>
  /** Wall clock in ms (expiry, budgets, timestamps); `now` is for durations. */
  clock: () => number
  /** Postgres + shared counters; absent on a runtime configured without a database. */
  stores: Stores | undefined
  /** Virtual keys; absent without stores (then only the master key works). */
  keys: KeyService | undefined
  spend: SpendService
}

/** Per-request context: the adapter's `waitUntil` keeps background work alive after the response. */
export interface RequestContext {
  waitUntil?: (promise: Promise<unknown>) => void
}
