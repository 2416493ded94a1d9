import { errorResponse, type GatewayError, toGatewayError } from '../errors'
import { authorizeCall } from '../keys/authorize-call'
import type { Caller } from '../keys/virtual-key'
import { type Reservation, reserveLimits } from '../limits/limiter'
import { toChatCompletion } from '../openai/chat-chunks'
import type { ChatRequest } from '../openai/chat-request'
import { chatRequestSchema } from '../openai/chat-request'
import { readJsonBody } from '../openai/read-json-body'
import { toSseStream } from '../openai/sse-stream'
import { validate } from '../openai/validate'
import { providerFor } from '../providers/registry'
import type { ChatDelta, ChatProvider, Deployment, ProviderCall } from '../providers/types'
import { pickDeployment } from '../router/pick-deployment'
import { deltaChars, estimateStreamUsage } from '../spend/usage-estimate'
import { callSettings } from './call-settings'
import { callSignal } from './call-signal'
import type { Gateway, RequestContext } from './context'
import { litellmHeaders } from './litellm-headers'
import { keySpendBefore, recordCallSpend, type SpendCall, setSpendHeaders } from './spend-hook'

/** Everything one call needs after the request has been accepted. */
interface Call {
  gw: Gateway
  context: RequestContext
  caller: Caller
  request: Request
  body: ChatRequest
  callId: string
  started: number
  deployment: Deployment
  provider: ChatProvider
  signal: ReturnType<typeof callSignal>
  providerCall: ProviderCall
  /** What the spend hook records when the call ends. */
  spend: SpendCall
  /** The call's hold on its rate limits; undefined when none applies. */
  limits: Reservation | undefined
}

/**
 * POST /v1/chat/completions and /chat/completions.
 *
 * Overhead is measured the way LiteLLM reports it in `x-litellm-overhead-duration-ms`: time spent
 * in the gateway, i.e. total time to the response headers minus time waiting on the upstream.
 */
export async function chatCompletions(
  request: Request,
  gw: Gateway,
  context: RequestContext = {},
): Promise<Response> {
  const started = gw.now()
  const startedAt = gw.clock()
  const callId = crypto.randomUUID()
  let deployment: Deployment | undefined
  // Set once a deployment is chosen: from then on every ending, failures included, is recorded.
  let spend: SpendCall | undefined
  let limits: Reservation | undefined
  try {
    const caller = await gw.authenticate(request)
    const body = validate(chatRequestSchema, await readJsonBody(request, gw.maxBodyBytes))
    const candidates = gw.groups.resolve(body.model)
    // A deployment addressed by its id is authorized against its group too (access and budgets).
    const group = candidates[0]?.modelName ?? body.model
    await authorizeCall(caller, group, gw, body.model)
    limits = await reserveLimits(
      {
        counters: gw.stores?.counters,
        logger: gw.logger,
        failClosed: gw.config.generalSettings.rate_limit_fail_closed === true,
      },
      caller,
      group,
      body,
    )
    deployment = pickDeployment(candidates, gw.random)
    const provider = providerFor(deployment, body)
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
    }
    const settings = callSettings(body, deployment, gw)
    const signal = callSignal(request.signal, settings.timeouts, body.model)
    const providerCall = {
      deployment,
      env: gw.env,
      fetch: gw.fetch,
      signal: signal.signal,
      dropParams: settings.dropParams,
      aws: gw.aws,
    }
    const call: Call = {
      gw,
      context,
      caller,
      request,
      body,
      callId,
      started,
      deployment,
      provider,
      signal,
      providerCall,
      spend,
      limits,
    }
    return body.stream ? await streamChat(call) : await completeChat(call)
  } catch (thrown) {
    // Settles once: a stream that already ended has settled in its onEnd, and this is a no-op.
    if (limits) settleLater(gw, context, limits)
    if (request.signal.aborted) {
      // The client is gone; nobody reads this answer (499 is nginx's "client closed request").
      if (spend) recordCallSpend(spend, { requestId: callId, status: 'failure' })
      gw.logger.debug('client went away', { callId })
      return new Response(null, { status: 499 })
    }
    const error = toGatewayError(thrown)
    if (spend) recordCallSpend(spend, { requestId: callId, status: 'failure', error })
    logFailure(gw, callId, error, thrown)
    return errorResponse(error, litellmHeaders({ callId, deployment }))
  }
}

async function completeChat(call: Call): Promise<Response> {
  const upstreamStarted = call.gw.now()
  // Read while the upstream works, so the x-litellm-key-spend header adds no wait.
  const keySpend = keySpendBefore(call.gw, call.caller)
  let output: Awaited<ReturnType<ChatProvider['complete']>>
  try {
    output = await call.provider.complete(call.body, call.providerCall)
  } catch (error) {
    throw call.signal.toError(error)
  } finally {
    call.signal.done()
  }
  const headers = responseHeaders(call, call.gw.now() - upstreamStarted)
  const meta = completionMeta(call)
  const cost = recordCallSpend(call.spend, {
    requestId: meta.id,
    usage: output.usage,
    status: 'success',
    firstTokenAt: call.gw.clock(),
  })
  setSpendHeaders(headers, call.caller, cost, await keySpend)
  if (call.limits) settleLater(call.gw, call.context, call.limits, output.usage?.total_tokens)
  headers.set('content-type', 'application/json')
  return new Response(JSON.stringify(toChatCompletion(output, meta)), {
    status: 200,
    headers,
  })
}

/**
 * Streams are answered only once the first delta is in: an exception frame that Bedrock sends
 * before any content (throttling, validation) then becomes an ordinary HTTP error with its status
 * (429, 400 …) that SDKs and retries understand, as LiteLLM does, instead of a 200 with an error
 * event. After the first byte, failures can only be in-band.
 */
async function streamChat(call: Call): Promise<Response> {
  const { gw, signal } = call
  const upstreamStarted = gw.now()
  let iterator: AsyncIterator<ChatDelta>
  let first: IteratorResult<ChatDelta>
  try {
    iterator = (await call.provider.stream(call.body, call.providerCall))[Symbol.asyncIterator]()
    first = await iterator.next()
  } catch (error) {
    signal.done()
    throw signal.toError(error)
  }
  signal.progress()
  const firstTokenAt = gw.clock()
  const headers = responseHeaders(call, gw.now() - upstreamStarted)
  headers.set('content-type', 'text/event-stream; charset=utf-8')
  headers.set('cache-control', 'no-cache')
  const meta = completionMeta(call)
  // Characters of output streamed so far: the usage estimate when the stream ends without usage.
  const streamed = { chars: 0 }
  const stream = toSseStream(withProgress(first, iterator, call, streamed), {
    meta,
    includeUsage: call.body.stream_options?.include_usage === true,
    clientGone: () => call.request.signal.aborted,
    onCancel: signal.abort,
    onEnd: (outcome) => {
      signal.done()
      if (call.limits) settleLater(gw, call.context, call.limits, outcome.usage?.total_tokens)
      // Whatever usage arrived is billed, also when the stream failed or the client left; without
      // any (Bedrock sends it last), an estimate from the prompt and what was streamed.
      const failed = outcome.error !== undefined || outcome.cancelled
      recordCallSpend(call.spend, {
        requestId: meta.id,
        usage: outcome.usage ?? estimateStreamUsage(call.body.messages, streamed.chars),
        usageEstimated: outcome.usage === undefined,
        status: failed ? 'failure' : 'success',
        firstTokenAt,
        error: outcome.error === undefined ? undefined : toGatewayError(outcome.error),
      })
      if (outcome.error !== undefined) {
        gw.logger.warn('stream failed', {
          callId: call.callId,
          deployment: call.deployment.id,
          error: outcome.error,
        })
      } else if (outcome.cancelled) {
        gw.logger.debug('stream cancelled by client', { callId: call.callId, deployment: call.deployment.id })
      }
    },
  })
  return new Response(stream, { status: 200, headers })
}

/**
 * Replays the peeked first delta, re-arms the idle timeout per delta, maps timeout aborts to 408,
 * and counts the output characters handed on (`streamed.chars`).
 */
async function* withProgress(
  first: IteratorResult<ChatDelta>,
  rest: AsyncIterator<ChatDelta>,
  call: Call,
  streamed: { chars: number },
) {
  try {
    if (first.done) return
    streamed.chars += deltaChars(first.value)
    yield first.value
    for (;;) {
      const next = await rest.next()
      if (next.done) return
      call.signal.progress()
      streamed.chars += deltaChars(next.value)
      yield next.value
    }
  } catch (error) {
    throw call.signal.toError(error)
  } finally {
    await rest.return?.()
  }
}

function completionMeta(call: Call) {
  return {
    id: `chatcmpl-${call.callId}`,
    created: Math.floor(Date.now() / 1000),
    model: call.provider.responseModel?.(call.deployment) ?? call.deployment.providerModel,
  }
}

/** Settles a call's rate limits in the background (kept alive by `waitUntil` where there is one). */
function settleLater(gw: Gateway, context: RequestContext, limits: Reservation, tokens?: number) {
  const settling = limits.settle(tokens).catch((error: unknown) => {
    gw.logger.warn('rate-limit settle failed', { error })
  })
  context.waitUntil?.(settling)
}

function responseHeaders(call: Call, upstreamMs: number): Headers {
  const responseMs = call.gw.now() - call.started
  const headers = litellmHeaders({
    callId: call.callId,
    deployment: call.deployment,
    apiBase: call.provider.apiBase?.(call.deployment, call.gw.env),
    overheadMs: Math.max(0, responseMs - upstreamMs),
    responseMs,
  })
  for (const [name, value] of Object.entries(call.limits?.headers ?? {})) headers.set(name, value)
  return headers
}

/** Our bugs are errors, upstream trouble is a warning, a client's bad request is debug noise. */
function logFailure(gw: Gateway, callId: string, error: GatewayError, thrown: unknown) {
  const fields = { callId, status: error.status, message: error.message }
  if (error.origin === 'client') gw.logger.debug('request rejected', fields)
  else if (error.origin === 'upstream') gw.logger.warn('upstream call failed', fields)
  else if (error.status >= 500) gw.logger.error('chat completion failed', { ...fields, error: thrown })
  else gw.logger.info('request refused', fields)
}
