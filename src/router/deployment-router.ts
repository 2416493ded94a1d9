import type { GatewayError } from '../errors'
import type { ChatRequest } from '../openai/chat-request'
import type { Deployment } from '../providers/types'
import { pickDeployment } from './pick-deployment'
import type { RouterHealth } from './router-state'

/** What routing needs to know about the call being placed. */
export interface RouteRequest {
  body: ChatRequest
  /** Prompt tokens, estimated before the call (context-window checks, tpm filters). */
  estimatedPromptTokens: number
}

/** How one attempt on a deployment ended, reported back so routing state stays current. */
export interface AttemptOutcome {
  ok: boolean
  /** ms to the answer (non-streaming) or to the first delta (streaming). */
  latencyMs?: number
  /** The attempt was a stream, so `latencyMs` is a time to first token (latency routing keeps both apart). */
  streamed?: boolean
  /** Total tokens used, when known. */
  tokens?: number
  /** The failure, for cooldown decisions. */
  error?: GatewayError
}

/** Keeps background work alive after the response (the request context's `waitUntil`). */
export type Background = (promise: Promise<unknown>) => void

/**
 * Chooses deployments within a model group and keeps the shared state routing depends on (usage,
 * in-flight calls, latency, cooldowns). One instance per gateway. The retry/fallback loop calls
 * `pick` once per attempt, then `started`, then `ended` exactly once.
 */
export interface DeploymentRouter {
  /**
   * A healthy deployment of `group` (not cooling down; with pre-call checks, within its rpm/tpm and
   * context window), preferring one not in `exclude` (tried already in this call, so a retry moves
   * to another deployment when there is one, and retries the same one when there is not). Throws a
   * GatewayError when none is healthy; the real router throws a `RoutingError` (routing-errors.ts)
   * whose `kind` says why:
   * - `cooldown`: 429 `No deployments available for selected model, Try again in <N> seconds. …`,
   *   `retryAfter` = the shortest cooldown left;
   * - `usage_limit`: 429, every deployment is at its rpm/tpm this minute (pre-call checks or
   *   usage-/latency-/cost-based routing);
   * - `context_window`: 400 whose message starts `litellm.ContextWindowExceededError:` (so
   *   `isContextWindowExceeded` in error-class.ts sees it): with `enable_pre_call_checks`, the prompt
   *   fits no deployment's context window; `context_window_fallbacks` apply.
   */
  pick(group: readonly Deployment[], request: RouteRequest, exclude: ReadonlySet<string>): Promise<Deployment>
  /** The attempt was sent (rpm and in-flight counters). Never throws, never waits. */
  started(deployment: Deployment, background?: Background): void
  /** The attempt ended. Never throws; shared-state writes happen in the background. */
  ended(deployment: Deployment, outcome: AttemptOutcome, background?: Background): void
  /** Where routing state lives and whether it is degraded to per-instance state (for /health/readiness). */
  health?(): RouterHealth
}

/** Weighted simple-shuffle with no shared state: the behaviour before routing strategies existed. */
export const shuffleRouter = (random: () => number): DeploymentRouter => ({
  async pick(group, _request, exclude) {
    const left = group.filter((d) => !exclude.has(d.id))
    return pickDeployment(left.length > 0 ? left : group, random)
  },
  started() {},
  ended() {},
})
