import { GatewayError } from '../errors'
import type { Deployment } from '../providers/types'
import type { Background, DeploymentRouter, RouteRequest } from './deployment-router'
import type { ReliabilitySettings } from './reliability-settings'
import { retriesAllowed, retryDelayMs } from './retry-decision'

/**
 * Longest wait the gateway itself sits out before a retry. A longer Retry-After goes back to the
 * client as the error's `retry-after`: holding a connection open for a minute helps nobody.
 */
export const MAX_RETRY_WAIT_MS = 10_000

export interface RetryLoop<T> {
  /** The model group's deployments. */
  deployments: readonly Deployment[]
  request: RouteRequest
  router: DeploymentRouter
  settings: ReliabilitySettings
  random: () => number
  /** The client's signal: once it aborts, nothing is retried. */
  signal: AbortSignal
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  /** One call on one deployment; throws a GatewayError (or the abort) when it fails. */
  attempt: (deployment: Deployment) => Promise<T>
  /** Sees every attempt, in order, with the retries so far (headers and spend name the last one). */
  onAttempt?: (deployment: Deployment, retries: number) => void
  /** Keeps routing-state writes alive after the response (`waitUntil`). */
  background?: Background
}

export interface Answered<T> {
  value: T
  deployment: Deployment
  /** Retries it took within this group (`x-litellm-attempted-retries`). */
  retries: number
}

/**
 * LiteLLM's `async_function_with_retries`: each attempt re-runs deployment selection, preferring
 * deployments not tried yet, so a retry usually lands on another region; a failed attempt is
 * reported to the router (cooldowns) before the next one. A success is the caller's to report
 * (`router.ended`), because only it knows when a stream ends.
 */
export async function callWithRetries<T>(loop: RetryLoop<T>): Promise<Answered<T>> {
  const { router, deployments, settings } = loop
  const tried = new Set<string>()
  let retries = 0
  let deployment = await router.pick(deployments, loop.request, tried)
  for (;;) {
    tried.add(deployment.id)
    loop.onAttempt?.(deployment, retries)
    router.started(deployment, loop.background)
    try {
      return { value: await loop.attempt(deployment), deployment, retries }
    } catch (thrown) {
      if (!(thrown instanceof GatewayError)) {
        // The client left (an abort) or a bug: nothing to hold against the deployment, no retry.
        router.ended(deployment, { ok: false }, loop.background)
        throw thrown
      }
      router.ended(deployment, { ok: false, error: thrown }, loop.background)
      if (loop.signal.aborted || retries >= retriesAllowed(thrown, settings, true)) throw thrown
      // Pick the next deployment before deciding how long to wait: only a healthy one not tried yet
      // (the router skips cooling ones) is retried at once; the same one gets the backoff.
      let next: Deployment
      try {
        next = await router.pick(deployments, loop.request, tried)
      } catch {
        // Nothing healthy is left: the error the client sees is the one that happened.
        throw thrown
      }
      const fresh = !tried.has(next.id)
      if (retries >= retriesAllowed(thrown, settings, fresh)) throw thrown
      retries++
      const wait = retryDelayMs(thrown, retries, settings, fresh, loop.random)
      if (wait > MAX_RETRY_WAIT_MS) throw thrown
      await loop.sleep(wait, loop.signal)
      if (loop.signal.aborted) throw thrown
      deployment = next
    }
  }
}
