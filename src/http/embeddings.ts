import { errorResponse, GatewayError, toGatewayError } from '../errors'
import { authorizeCall } from '../keys/authorize-call'
import type { Caller } from '../keys/virtual-key'
import { type Reservation, reserveLimits } from '../limits/limiter'
import { estimatePromptTokens } from '../limits/token-estimate'
import type { ChatRequest } from '../openai/chat-request'
import type { Usage } from '../openai/chat-response'
import { inputChars, parseEmbeddingRequest } from '../openai/embeddings-request'
import { toEmbeddingResponse } from '../openai/embeddings-response'
import { readJsonBody } from '../openai/read-json-body'
import { partialUsageOf, withPartialUsage } from '../providers/partial-usage'
import { providerFor } from '../providers/registry'
import type {
  ChatProvider,
  Deployment,
  EmbeddingOutput,
  EmbeddingRequest,
  ProviderCall,
} from '../providers/types'
import { callWithFallbacks, clientFallbacksOf } from '../router/call-with-fallbacks'
import { callWithRetries } from '../router/call-with-retries'
import { mockRateLimitFailure, mockTestingFlags } from '../router/mock-testing'
import { isFallbackList, withRequestOverrides } from '../router/reliability-settings'
import { callSettings } from './call-settings'
import { callSignal } from './call-signal'
import type { Gateway, RequestContext } from './context'
import { litellmHeaders } from './litellm-headers'
import { authorizeRequestedFallbacks } from './requested-fallbacks'
import { keySpendBefore, recordCallSpend, type SpendCall, setSpendHeaders } from './spend-hook'

/**
 * POST /v1/embeddings, /embeddings, and LiteLLM's Azure-style `/openai/deployments/{model}/embeddings`
 * and `/engines/{model}/embeddings` (`pathModel`).
 *
 * The same gate as chat: authentication, key/team/user model access and budgets for the model
 * group, the caller's rate limits (tokens estimated from the input). Then the same reliability
 * layers as chat (LiteLLM's router serves `aembedding` through them too): fallbacks around model
 * groups, retries within a group, the router's choice of deployment per attempt, cooldowns. Spend
 * is recorded with LiteLLM's `call_type: aembedding`, and the answer carries the same `x-litellm-*`
 * and cost headers.
 */
export async function embeddings(
  request: Request,
  gw: Gateway,
  context: RequestContext = {},
  pathModel?: string,
): Promise<Response> {
  const started = gw.now()
  const startedAt = gw.clock()
  const callId = crypto.randomUUID()
  // The last deployment tried: error responses and failure spend rows name it.
  let deployment: Deployment | undefined
  let caller: Caller | undefined
  let endUser: string | undefined
  let limits: Reservation | undefined
  /** Tokens failed attempts were billed for (batches that succeeded before one failed). */
  let billedBeforeFailure: Usage | undefined
  const reliability: Record<string, string> = {}
  try {
    caller = await gw.authenticate(request)
    const body = parseEmbeddingRequest(await readJsonBody(request, gw.maxBodyBytes), pathModel)
    endUser = body.user
    const candidates = gw.groups.resolve(body.model)
    // A deployment addressed by its id is authorized against its group too (access and budgets).
    const group = candidates[0]?.modelName ?? body.model
    await authorizeCall(caller, group, gw, body.model)
    const settings = withRequestOverrides(gw.reliability, body)
    // Client-side fallbacks name groups; `messages` in them mean nothing for embeddings.
    const clientFallbacks = isFallbackList(body.fallbacks) ? undefined : clientFallbacksOf(body.fallbacks)
    await authorizeRequestedFallbacks(caller, gw, body, clientFallbacks)
    const view = limitView(body)
    limits = await reserveLimits(
      {
        counters: gw.stores?.counters,
        logger: gw.logger,
        failClosed: gw.config.generalSettings.rate_limit_fail_closed === true,
      },
      caller,
      group,
      view,
    )
    const mocks = mockTestingFlags(body)
    const routeRequest = { body: view, estimatedPromptTokens: estimatePromptTokens(view) }
    reliability['x-litellm-max-retries'] = String(settings.numRetries)
    reliability['x-litellm-max-fallbacks'] = String(settings.maxFallbacks)
    const attempted = (retries: number, fallbacks: number) => {
      reliability['x-litellm-attempted-retries'] = String(retries)
      reliability['x-litellm-attempted-fallbacks'] = String(fallbacks)
    }
    attempted(0, 0)
    const answered = await callWithFallbacks(body.model, {
      settings,
      mocks,
      disabled: body.disable_fallbacks === true,
      clientFallbacks,
      clientGone: () => request.signal.aborted,
      callGroup: async (model, depth) => {
        attempted(0, depth)
        const rateLimited = mockRateLimitFailure(mocks, model)
        if (rateLimited) throw rateLimited
        const sent = model === body.model ? body : { ...body, model }
        const result = await callWithRetries({
          // The original group was resolved (and authorized) above; fallback groups here.
          deployments: model === body.model ? candidates : gw.groups.resolve(model),
          request: routeRequest,
          router: gw.router,
          settings,
          random: gw.random,
          signal: request.signal,
          sleep: gw.sleep,
          attempt: async (d) => {
            try {
              return await attemptOn(d, sent, view, request, gw)
            } catch (error) {
              billedBeforeFailure = addUsage(billedBeforeFailure, partialUsageOf(error))
              throw error
            }
          },
          onAttempt: (d, retries) => {
            deployment = d
            attempted(retries, depth)
          },
          background: context.waitUntil,
        })
        return result.value
      },
    })
    const attempt = answered.value
    const spend = spendCall(gw, context, caller, attempt.deployment, callId, startedAt, started, body.user)
    return await respond({ gw, context, caller, body, spend, limits, reliability, attempt })
  } catch (thrown) {
    if (limits) settleLater(gw, context, limits)
    const spend =
      caller && deployment
        ? spendCall(gw, context, caller, deployment, callId, startedAt, started, endUser)
        : undefined
    if (request.signal.aborted) {
      // The client is gone; nobody reads this answer (499 is nginx's "client closed request").
      if (spend) recordCallSpend(spend, { requestId: callId, status: 'failure', usage: billedBeforeFailure })
      return new Response(null, { status: 499 })
    }
    const error = toGatewayError(thrown)
    if (spend)
      recordCallSpend(spend, { requestId: callId, status: 'failure', error, usage: billedBeforeFailure })
    logFailure(gw, callId, error, thrown)
    const headers = litellmHeaders({ callId, deployment })
    for (const [name, value] of Object.entries(reliability)) headers.set(name, value)
    return errorResponse(error, headers)
  }
}

function spendCall(
  gw: Gateway,
  context: RequestContext,
  caller: Caller,
  deployment: Deployment,
  callId: string,
  startedAt: number,
  started: number,
  endUser: string | undefined,
): SpendCall {
  return {
    gw,
    context,
    caller,
    deployment,
    callId,
    startedAt,
    started,
    apiBase: apiBaseOf(gw, deployment),
    endUser,
    callType: 'aembedding',
  }
}

function apiBaseOf(gw: Gateway, deployment: Deployment): string | undefined {
  try {
    return providerFor(deployment, {}).apiBase?.(deployment, gw.env)
  } catch {
    return undefined
  }
}

/** Usage of a failed attempt added to the earlier ones' (each attempt's batches were billed). */
function addUsage(sum: Usage | undefined, more: EmbeddingOutput['usage'] | undefined): Usage | undefined {
  if (more === undefined) return sum
  const prompt = (sum?.prompt_tokens ?? 0) + more.prompt_tokens
  return { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt }
}

/** A `{model}` path segment, percent-decoded (the router hands it over raw). */
export function pathParam(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/**
 * The chat-shaped view the shared helpers read: the rate limiter estimates tokens from `messages`
 * (the input text, ~4 characters a token) plus `max_tokens` (0: embeddings generate nothing), and
 * the call settings read `timeout`, `drop_params` and `stream`.
 */
function limitView(body: EmbeddingRequest): ChatRequest {
  // Text parts reference the input strings (no copy); token arrays count one estimated token each.
  const parts = body.input.map((item) => ({
    type: 'text' as const,
    text: typeof item === 'string' ? item : ' '.repeat(inputChars([item])),
  }))
  return {
    model: body.model,
    messages: [{ role: 'user', content: parts }],
    max_tokens: 0,
    timeout: typeof body.timeout === 'number' ? body.timeout : undefined,
    drop_params: typeof body.drop_params === 'boolean' ? body.drop_params : undefined,
  }
}

/** The deployment's provider, which must have embedding models. */
function embeddingProvider(deployment: Deployment, body: EmbeddingRequest): ChatProvider {
  const provider = providerFor(deployment, { mock_response: body.mock_response })
  if (provider.embed) return provider
  const mocked = body.mock_response !== undefined || deployment.params.mock_response !== undefined
  throw new GatewayError({
    status: 400,
    message: mocked
      ? `mock_response is not supported for embeddings (model=${deployment.modelName}).`
      : `Model ${deployment.modelName} (model=${deployment.params.model}) does not support embeddings: ` +
        `provider '${deployment.provider}' has no embedding models in this gateway.`,
    param: 'model',
    origin: 'client',
    retryable: false,
  })
}

/** One successful attempt on one deployment: what the response is built from. */
interface Attempt {
  deployment: Deployment
  provider: ChatProvider
  output: EmbeddingOutput
  upstreamStarted: number
}

/**
 * One call on one deployment, with its own timeout (a timed-out attempt leaves time for the next).
 * A provider without embedding models is a 400 (not retried); a wrong number of vectors a 502.
 */
async function attemptOn(
  deployment: Deployment,
  body: EmbeddingRequest,
  view: ChatRequest,
  request: Request,
  gw: Gateway,
): Promise<Attempt> {
  const provider = embeddingProvider(deployment, body)
  const settings = callSettings(view, deployment, gw)
  const signal = callSignal(request.signal, settings.timeouts, body.model)
  const providerCall: ProviderCall = {
    deployment,
    env: gw.env,
    fetch: gw.fetch,
    signal: signal.signal,
    dropParams: settings.dropParams,
    aws: gw.aws,
    logger: gw.logger,
  }
  const upstreamStarted = gw.now()
  let output: EmbeddingOutput
  try {
    output = await (provider.embed as NonNullable<ChatProvider['embed']>)(body, providerCall)
  } catch (error) {
    const mapped = signal.toError(error)
    // The batches billed before the failure stay known through the timeout mapping.
    const billed = partialUsageOf(error)
    throw billed === undefined ? mapped : withPartialUsage(mapped, billed)
  } finally {
    signal.done()
  }
  if (output.vectors.length !== body.input.length) {
    throw withPartialUsage(
      new GatewayError({
        status: 502,
        message: `litellm.BadGatewayError: the provider returned ${output.vectors.length} embeddings for ${body.input.length} inputs.`,
        origin: 'upstream',
      }),
      output.usage,
    )
  }
  return { deployment, provider, output, upstreamStarted }
}

interface Answer {
  gw: Gateway
  context: RequestContext
  caller: Caller
  body: EmbeddingRequest
  spend: SpendCall
  limits: Reservation | undefined
  reliability: Record<string, string>
  attempt: Attempt
}

async function respond(answer: Answer): Promise<Response> {
  const { gw, context, caller, body, spend, limits, reliability, attempt } = answer
  const { deployment, provider, output } = attempt
  // Read while the response is built, so the x-litellm-key-spend header adds little wait.
  const keySpend = keySpendBefore(gw, caller)
  const upstreamMs = gw.now() - attempt.upstreamStarted
  gw.router.ended(
    deployment,
    { ok: true, latencyMs: upstreamMs, tokens: output.usage.total_tokens },
    context.waitUntil,
  )
  const responseMs = gw.now() - spend.started
  const headers = litellmHeaders({
    callId: spend.callId,
    deployment,
    apiBase: spend.apiBase,
    overheadMs: Math.max(0, responseMs - upstreamMs),
    responseMs,
  })
  for (const [name, value] of Object.entries(limits?.headers ?? {})) headers.set(name, value)
  for (const [name, value] of Object.entries(reliability)) headers.set(name, value)
  const usage = { ...output.usage, completion_tokens: 0 }
  const cost = recordCallSpend(spend, {
    requestId: spend.callId,
    usage,
    usageEstimated: output.usageEstimated === true,
    status: 'success',
    firstTokenAt: gw.clock(),
  })
  setSpendHeaders(headers, caller, cost, await keySpend)
  if (limits) settleLater(gw, context, limits, usage.total_tokens)
  headers.set('content-type', 'application/json')
  const model = output.model ?? provider.responseModel?.(deployment) ?? deployment.providerModel
  return new Response(JSON.stringify(toEmbeddingResponse(output, model, body.encoding_format)), {
    status: 200,
    headers,
  })
}

/** Settles a call's rate limits in the background (kept alive by `waitUntil` where there is one). */
function settleLater(gw: Gateway, context: RequestContext, limits: Reservation, tokens?: number) {
  const settling = limits.settle(tokens).catch((error: unknown) => {
    gw.logger.warn('rate-limit settle failed', { error })
  })
  context.waitUntil?.(settling)
}

/** Our bugs are errors, upstream trouble is a warning, a client's bad request is debug noise. */
function logFailure(gw: Gateway, callId: string, error: GatewayError, thrown: unknown) {
  const fields = { callId, status: error.status, message: error.message }
  if (error.origin === 'client') gw.logger.debug('embedding request rejected', fields)
  else if (error.origin === 'upstream') gw.logger.warn('embedding upstream call failed', fields)
  else if (error.status >= 500) gw.logger.error('embedding call failed', { ...fields, error: thrown })
  else gw.logger.info('embedding request refused', fields)
}
