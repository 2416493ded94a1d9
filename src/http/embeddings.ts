import { GatewayError } from '../errors'
import type { Caller } from '../keys/virtual-key'
import type { Reservation } from '../limits/limiter'
import { estimatePromptTokens } from '../limits/token-estimate'
import type { ChatRequest } from '../openai/chat-request'
import type { Usage } from '../openai/chat-response'
import { inputChars, parseEmbeddingRequest } from '../openai/embeddings-request'
import { toEmbeddingResponse } from '../openai/embeddings-response'
import { readJsonBody } from '../openai/read-json-body'
import { partialUsageOf, withPartialUsage } from '../providers/partial-usage'
import { providerFor } from '../providers/registry'
import type { ChatProvider, Deployment, EmbeddingOutput, EmbeddingRequest } from '../providers/types'
import { mockTestingFlags } from '../router/mock-testing'
import { callSettings } from './call-settings'
import { callSignal } from './call-signal'
import type { Gateway, RequestContext } from './context'
import { litellmHeaders } from './litellm-headers'
import {
  admitModelCall,
  callReliably,
  failedCallResponse,
  providerCallFor,
  settleLater,
  spendCallFor,
} from './model-call'
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
    const view = limitView(body)
    // Client-side fallbacks name groups; `messages` in them mean nothing for embeddings.
    const admitted = await admitModelCall(gw, caller, body, view)
    limits = admitted.limits
    const { candidates, settings, clientFallbacks } = admitted
    const routeRequest = { body: view, estimatedPromptTokens: estimatePromptTokens(view) }
    const answered = await callReliably({
      gw,
      request,
      context,
      model: body.model,
      candidates,
      settings,
      mocks: mockTestingFlags(body),
      disableFallbacks: body.disable_fallbacks === true,
      clientFallbacks,
      headers: reliability,
      routeRequest: () => routeRequest,
      attempt: async (d, model) => {
        try {
          return await attemptOn(d, model === body.model ? body : { ...body, model }, view, request, gw)
        } catch (error) {
          billedBeforeFailure = addUsage(billedBeforeFailure, partialUsageOf(error))
          throw error
        }
      },
      onAttempt: (d) => {
        deployment = d
      },
    })
    const attempt = answered.value
    const spend = spendCallFor({
      gw,
      context,
      caller,
      deployment: attempt.deployment,
      callId,
      startedAt,
      started,
      endUser: body.user,
      callType: 'aembedding',
    })
    return await respond({ gw, context, caller, body, spend, limits, reliability, attempt })
  } catch (thrown) {
    if (limits) settleLater(gw, context, limits)
    return failedCallResponse({
      gw,
      request,
      callId,
      thrown,
      spend:
        caller && deployment
          ? spendCallFor({
              gw,
              context,
              caller,
              deployment,
              callId,
              startedAt,
              started,
              endUser,
              callType: 'aembedding',
            })
          : undefined,
      usage: billedBeforeFailure,
      deployment,
      headers: reliability,
      what: 'embedding',
    })
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
  const providerCall = providerCallFor(gw, deployment, signal, settings.dropParams)
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
