import { errorResponse, GatewayError, toGatewayError } from '../errors'
import { authorizeCall } from '../keys/authorize-call'
import type { Caller } from '../keys/virtual-key'
import { type Reservation, reserveLimits } from '../limits/limiter'
import type { ChatRequest } from '../openai/chat-request'
import { inputChars, parseEmbeddingRequest } from '../openai/embeddings-request'
import { toEmbeddingResponse } from '../openai/embeddings-response'
import { readJsonBody } from '../openai/read-json-body'
import { providerFor } from '../providers/registry'
import type {
  ChatProvider,
  Deployment,
  EmbeddingOutput,
  EmbeddingRequest,
  ProviderCall,
} from '../providers/types'
import { pickDeployment } from '../router/pick-deployment'
import { callSettings } from './call-settings'
import { callSignal } from './call-signal'
import type { Gateway, RequestContext } from './context'
import { litellmHeaders } from './litellm-headers'
import { keySpendBefore, recordCallSpend, type SpendCall, setSpendHeaders } from './spend-hook'

/**
 * POST /v1/embeddings, /embeddings, and LiteLLM's Azure-style `/openai/deployments/{model}/embeddings`
 * and `/engines/{model}/embeddings` (`pathModel`).
 *
 * The same gate as chat: authentication, key/team/user model access and budgets for the model
 * group, the caller's rate limits (tokens estimated from the input), then one call on a deployment
 * picked by the group's weights. Spend is recorded with LiteLLM's `call_type: aembedding`, and the
 * answer carries the same `x-litellm-*` and cost headers.
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
  let deployment: Deployment | undefined
  let spend: SpendCall | undefined
  let limits: Reservation | undefined
  try {
    const caller = await gw.authenticate(request)
    const body = parseEmbeddingRequest(await readJsonBody(request, gw.maxBodyBytes), pathModel)
    const candidates = gw.groups.resolve(body.model)
    // A deployment addressed by its id is authorized against its group too (access and budgets).
    const group = candidates[0]?.modelName ?? body.model
    await authorizeCall(caller, group, gw, body.model)
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
    deployment = pickDeployment(candidates, gw.random)
    const provider = embeddingProvider(deployment, body)
    spend = {
      gw,
      context,
      caller,
      deployment,
      callId,
      startedAt,
      started,
      apiBase: provider.apiBase?.(deployment, gw.env),
      endUser: body.user,
      callType: 'aembedding',
    }
    return await embed({ gw, context, caller, request, body, view, deployment, provider, spend, limits })
  } catch (thrown) {
    if (limits) settleLater(gw, context, limits)
    if (request.signal.aborted) {
      // The client is gone; nobody reads this answer (499 is nginx's "client closed request").
      if (spend) recordCallSpend(spend, { requestId: callId, status: 'failure' })
      return new Response(null, { status: 499 })
    }
    const error = toGatewayError(thrown)
    if (spend) recordCallSpend(spend, { requestId: callId, status: 'failure', error })
    logFailure(gw, callId, error, thrown)
    return errorResponse(error, litellmHeaders({ callId, deployment }))
  }
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

/** Everything one call needs once the request has been accepted and a deployment chosen. */
interface EmbeddingCall {
  gw: Gateway
  context: RequestContext
  caller: Caller
  request: Request
  body: EmbeddingRequest
  view: ChatRequest
  deployment: Deployment
  provider: ChatProvider
  spend: SpendCall
  limits: Reservation | undefined
}

async function embed(call: EmbeddingCall): Promise<Response> {
  const { gw, context, caller, request, body, view, deployment, provider, spend, limits } = call
  const settings = callSettings(view, deployment, gw)
  const signal = callSignal(request.signal, settings.timeouts, body.model)
  const providerCall: ProviderCall = {
    deployment,
    env: gw.env,
    fetch: gw.fetch,
    signal: signal.signal,
    dropParams: settings.dropParams,
    aws: gw.aws,
  }
  // Read while the upstream works, so the x-litellm-key-spend header adds no wait.
  const keySpend = keySpendBefore(gw, caller)
  const upstreamStarted = gw.now()
  let output: EmbeddingOutput
  try {
    output = await (provider.embed as NonNullable<ChatProvider['embed']>)(body, providerCall)
  } catch (error) {
    throw signal.toError(error)
  } finally {
    signal.done()
  }
  if (output.vectors.length !== body.input.length) {
    throw new GatewayError({
      status: 502,
      message: `litellm.BadGatewayError: the provider returned ${output.vectors.length} embeddings for ${body.input.length} inputs.`,
      origin: 'upstream',
    })
  }
  const upstreamMs = gw.now() - upstreamStarted
  const responseMs = gw.now() - spend.started
  const headers = litellmHeaders({
    callId: spend.callId,
    deployment,
    apiBase: spend.apiBase,
    overheadMs: Math.max(0, responseMs - upstreamMs),
    responseMs,
  })
  for (const [name, value] of Object.entries(limits?.headers ?? {})) headers.set(name, value)
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
