import { errorResponse, type GatewayError, toGatewayError } from '../errors'
import { authorizeCall } from '../keys/authorize-call'
import type { Caller } from '../keys/virtual-key'
import type { Reservation } from '../limits/limiter'
import { reserveLimits } from '../limits/limiter'
import type { ChatMessage, ChatRequest } from '../openai/chat-request'
import type { Usage } from '../openai/chat-response'
import { providerFor } from '../providers/registry'
import type { Deployment, ProviderCall } from '../providers/types'
import {
  type ClientFallback,
  callWithFallbacks,
  clientFallbacksOf,
  type FellBack,
} from '../router/call-with-fallbacks'
import { callWithRetries } from '../router/call-with-retries'
import type { RouteRequest } from '../router/deployment-router'
import { type MockTestingFlags, mockRateLimitFailure } from '../router/mock-testing'
import {
  isFallbackList,
  type ReliabilitySettings,
  withRequestOverrides,
} from '../router/reliability-settings'
import type { callSignal } from './call-signal'
import type { Gateway, RequestContext } from './context'
import { litellmHeaders } from './litellm-headers'
import { authorizeRequestedFallbacks } from './requested-fallbacks'
import { recordCallSpend, type SpendCall } from './spend-hook'

/** What chat completions and embeddings share once a request has been accepted. */

export interface ReliableCall<T> {
  gw: Gateway
  request: Request
  context: RequestContext
  /** The requested model group (or deployment id), resolved to `candidates` and authorized. */
  model: string
  candidates: readonly Deployment[]
  settings: ReliabilitySettings
  mocks: MockTestingFlags
  disableFallbacks: boolean
  clientFallbacks: ClientFallback[] | undefined
  /** LiteLLM's `x-litellm-*` retry and fallback counters, kept current so error responses carry them. */
  headers: Record<string, string>
  /** What the router needs to know about the call to `model` (a client-side fallback may replace the messages). */
  routeRequest: (model: string, messages?: ChatMessage[]) => RouteRequest
  /** One attempt on one deployment of `model`. */
  attempt: (deployment: Deployment, model: string, messages?: ChatMessage[]) => Promise<T>
  /** Sees every deployment tried (error responses and failure spend rows name the last one). */
  onAttempt: (deployment: Deployment) => void
}

/**
 * LiteLLM's reliability layers around one call: fallbacks across model groups, retries within a
 * group, the router's pick per attempt (see src/router/).
 */
export function callReliably<T>(run: ReliableCall<T>): Promise<FellBack<T>> {
  const { gw, headers, settings } = run
  headers['x-litellm-max-retries'] = String(settings.numRetries)
  headers['x-litellm-max-fallbacks'] = String(settings.maxFallbacks)
  const attempted = (retries: number, fallbacks: number) => {
    headers['x-litellm-attempted-retries'] = String(retries)
    headers['x-litellm-attempted-fallbacks'] = String(fallbacks)
  }
  attempted(0, 0)
  return callWithFallbacks(run.model, {
    settings,
    mocks: run.mocks,
    disabled: run.disableFallbacks,
    clientFallbacks: run.clientFallbacks,
    clientGone: () => run.request.signal.aborted,
    callGroup: async (model, depth, messages) => {
      attempted(0, depth)
      const rateLimited = mockRateLimitFailure(run.mocks, model)
      if (rateLimited) throw rateLimited
      const result = await callWithRetries({
        // The original group was resolved (and authorized) by the caller; fallback groups here.
        deployments: model === run.model ? run.candidates : gw.groups.resolve(model),
        request: run.routeRequest(model, messages),
        router: gw.router,
        settings,
        random: gw.random,
        signal: run.request.signal,
        sleep: gw.sleep,
        attempt: (d) => run.attempt(d, model, messages),
        onAttempt: (d, retries) => {
          run.onAttempt(d)
          attempted(retries, depth)
        },
        background: run.context.waitUntil,
      })
      return result.value
    },
  })
}

/** The provider's view of one attempt: everything with I/O injected from the gateway. */
export function providerCallFor(
  gw: Gateway,
  deployment: Deployment,
  signal: ReturnType<typeof callSignal>,
  dropParams: boolean,
): ProviderCall {
  return {
    deployment,
    env: gw.env,
    fetch: gw.fetch,
    signal: signal.signal,
    dropParams,
    aws: gw.aws,
    logger: gw.logger,
  }
}

export interface FailedCall {
  gw: Gateway
  request: Request
  callId: string
  thrown: unknown
  /** Set once a deployment was tried: the failure is spend-logged against it. */
  spend: SpendCall | undefined
  /** Tokens billed before the failure (embedding batches that succeeded). */
  usage?: Usage
  deployment: Deployment | undefined
  headers: Record<string, string>
  /** Names the route in logs (`chat completion`, `embedding`). */
  what: string
}

/**
 * How every failed model call ends: 499 when the client is gone (nobody reads the answer; nginx's
 * "client closed request"), else the error in LiteLLM's envelope with the `x-litellm-*` headers.
 */
export function failedCallResponse(f: FailedCall): Response {
  if (f.request.signal.aborted) {
    if (f.spend) recordCallSpend(f.spend, { requestId: f.callId, status: 'failure', usage: f.usage })
    f.gw.logger.debug('client went away', { callId: f.callId })
    return new Response(null, { status: 499 })
  }
  const error = toGatewayError(f.thrown)
  if (f.spend) recordCallSpend(f.spend, { requestId: f.callId, status: 'failure', error, usage: f.usage })
  logFailure(f, error)
  const headers = litellmHeaders({ callId: f.callId, deployment: f.deployment })
  for (const [name, value] of Object.entries(f.headers)) headers.set(name, value)
  return errorResponse(error, headers)
}

/** Our bugs are errors, upstream trouble is a warning, a client's bad request is debug noise. */
function logFailure(f: FailedCall, error: GatewayError) {
  const fields = { callId: f.callId, status: error.status, message: error.message }
  if (error.origin === 'client') f.gw.logger.debug(`${f.what} request rejected`, fields)
  else if (error.origin === 'upstream') f.gw.logger.warn(`${f.what} upstream call failed`, fields)
  else if (error.status >= 500) f.gw.logger.error(`${f.what} failed`, { ...fields, error: f.thrown })
  else f.gw.logger.info(`${f.what} request refused`, fields)
}

/** What the spend hook records for a call on `deployment` (the one that answered, or the last tried). */
export function spendCallFor(call: Omit<SpendCall, 'apiBase'>): SpendCall {
  return { ...call, apiBase: apiBaseOf(call.gw, call.deployment) }
}

/** The upstream base URL for `x-litellm-model-api-base` and spend rows; none when it cannot be built. */
function apiBaseOf(gw: Gateway, deployment: Deployment): string | undefined {
  try {
    return providerFor(deployment, {}).apiBase?.(deployment, gw.env)
  } catch {
    return undefined
  }
}

/** Settles a call's rate limits in the background (kept alive by `waitUntil` where there is one). */
export function settleLater(gw: Gateway, context: RequestContext, limits: Reservation, tokens?: number) {
  const settling = limits.settle(tokens).catch((error: unknown) => {
    gw.logger.warn('rate-limit settle failed', { error })
  })
  context.waitUntil?.(settling)
}

/** A request let through the gate, with its hold on the caller's rate limits. */
export interface Admitted {
  /** The deployments of the requested group (or the one deployment addressed by id). */
  candidates: Deployment[]
  /** The model group the call counts against (access, budgets, rate limits). */
  group: string
  settings: ReliabilitySettings
  clientFallbacks: ClientFallback[] | undefined
  limits: Reservation | undefined
}

/**
 * The gate every model call passes, in LiteLLM's order: the model group resolves, the caller may
 * use it (and every fallback group the request names) within its budgets, then the caller's rate
 * limits are reserved — last, so nothing is reserved for a request refused on the way. `limitView`
 * is the chat-shaped body the token estimate reads; `check` validates what only the route knows.
 */
export async function admitModelCall(
  gw: Gateway,
  caller: Caller,
  body: { model: string; fallbacks?: unknown; [key: string]: unknown },
  limitView: ChatRequest,
  check?: (clientFallbacks: ClientFallback[] | undefined) => void,
): Promise<Admitted> {
  const candidates = gw.groups.resolve(body.model)
  // A deployment addressed by its id is authorized against its group too (access and budgets).
  const group = candidates[0]?.modelName ?? body.model
  await authorizeCall(caller, group, gw, body.model)
  const settings = withRequestOverrides(gw.reliability, body)
  const clientFallbacks = isFallbackList(body.fallbacks) ? undefined : clientFallbacksOf(body.fallbacks)
  check?.(clientFallbacks)
  await authorizeRequestedFallbacks(caller, gw, body, clientFallbacks)
  const limits = await reserveLimits(
    {
      counters: gw.stores?.counters,
      logger: gw.logger,
      failClosed: gw.config.generalSettings.rate_limit_fail_closed === true,
    },
    caller,
    group,
    limitView,
  )
  return { candidates, group, settings, clientFallbacks, limits }
}
