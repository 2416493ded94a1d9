import { z } from 'zod'
import { toGatewayError } from '../errors'
import type { Caller } from '../keys/virtual-key'
import type { Reservation } from '../limits/limiter'
import { estimatePromptTokens } from '../limits/token-estimate'
import { toChatCompletion } from '../openai/chat-chunks'
import type { ChatRequest } from '../openai/chat-request'
import { chatMessageSchema, chatRequestSchema } from '../openai/chat-request'
import { readJsonBody } from '../openai/read-json-body'
import { toSseStream } from '../openai/sse-stream'
import { validate } from '../openai/validate'
import { providerFor } from '../providers/registry'
import type { ChatDelta, ChatOutput, ChatProvider, Deployment } from '../providers/types'
import { mockTestingFlags } from '../router/mock-testing'
import { deltaChars, estimateStreamUsage } from '../spend/usage-estimate'
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

/** `messages` of a client-side fallback (`fallbacks: [{model, messages}]`), checked like the request's. */
const clientFallbackMessages = z.array(chatMessageSchema).min(1)

/** One successful attempt on one deployment: what the response is built from. */
interface Attempt {
  deployment: Deployment
  provider: ChatProvider
  /** The request as sent (a client-side fallback may replace the messages). */
  body: ChatRequest
  signal: ReturnType<typeof callSignal>
  upstreamStarted: number
  answer:
    | { kind: 'complete'; output: ChatOutput }
    | { kind: 'stream'; first: IteratorResult<ChatDelta>; rest: AsyncIterator<ChatDelta> }
}

/** Everything one call needs after an attempt succeeded. */
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
  upstreamStarted: number
  /** What the spend hook records when the call ends. */
  spend: SpendCall
  /** The call's hold on its rate limits; undefined when none applies. */
  limits: Reservation | undefined
  /** Retry and fallback counts and caps, for LiteLLM's `x-litellm-*` headers. */
  reliability: Record<string, string>
}

/**
 * POST /v1/chat/completions and /chat/completions.
 *
 * After authentication, model access and the caller's rate limits (all for the requested model
 * group), the call goes through LiteLLM's reliability layers: fallbacks around model groups,
 * retries within a group, and the router's choice of deployment per attempt. A stream counts as
 * answered once its first delta is in, so nothing is retried after the client got a byte.
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
  // The last deployment tried: error responses and failure spend rows name it.
  let deployment: Deployment | undefined
  let caller: Caller | undefined
  let limits: Reservation | undefined
  const reliability: Record<string, string> = {}
  try {
    caller = await gw.authenticate(request)
    const body = validate(chatRequestSchema, await readJsonBody(request, gw.maxBodyBytes))
    const admitted = await admitModelCall(gw, caller, body, body, (clientFallbacks) => {
      for (const f of clientFallbacks ?? []) if (f.messages) validate(clientFallbackMessages, f.messages)
    })
    limits = admitted.limits
    const { candidates, settings, clientFallbacks } = admitted
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
      routeRequest: (_model, messages) => ({
        body: messages ? { ...body, messages } : body,
        estimatedPromptTokens: estimatePromptTokens(messages ? { messages } : body),
      }),
      attempt: (d, model, messages) =>
        attemptOn(d, messages ? { ...body, model, messages } : body, request, gw),
      onAttempt: (d) => {
        deployment = d
      },
    })
    const attempt = answered.value
    const call: Call = {
      gw,
      context,
      caller,
      request,
      body: attempt.body,
      callId,
      started,
      deployment: attempt.deployment,
      provider: attempt.provider,
      signal: attempt.signal,
      upstreamStarted: attempt.upstreamStarted,
      spend: spendCallFor({
        gw,
        context,
        caller,
        deployment: attempt.deployment,
        callId,
        startedAt,
        started,
        endUser: attempt.body.user,
      }),
      limits,
      reliability,
    }
    return attempt.answer.kind === 'stream'
      ? streamChat(call, attempt.answer.first, attempt.answer.rest)
      : completeChat(call, attempt.answer.output)
  } catch (thrown) {
    // Settles once: a stream that already ended has settled in its onEnd, and this is a no-op.
    if (limits) settleLater(gw, context, limits)
    return failedCallResponse({
      gw,
      request,
      callId,
      thrown,
      spend:
        caller && deployment
          ? spendCallFor({ gw, context, caller, deployment, callId, startedAt, started })
          : undefined,
      deployment,
      headers: reliability,
      what: 'chat completion',
    })
  }
}

/**
 * One call on one deployment, with its own timeouts (a timed-out attempt leaves time for the next).
 * A stream is peeked to its first delta: an exception frame before any content is then an
 * ordinary failure the retry loop can act on, and after it nothing is retried.
 */
async function attemptOn(
  deployment: Deployment,
  body: ChatRequest,
  request: Request,
  gw: Gateway,
): Promise<Attempt> {
  const provider = providerFor(deployment, body)
  const settings = callSettings(body, deployment, gw)
  const signal = callSignal(request.signal, settings.timeouts, body.model)
  const providerCall = providerCallFor(gw, deployment, signal, settings.dropParams)
  const upstreamStarted = gw.now()
  let rest: AsyncIterator<ChatDelta> | undefined
  try {
    if (body.stream) {
      rest = (await provider.stream(body, providerCall))[Symbol.asyncIterator]()
      const first = await rest.next()
      signal.progress()
      return { deployment, provider, body, signal, upstreamStarted, answer: { kind: 'stream', first, rest } }
    }
    const output = await provider.complete(body, providerCall)
    signal.done()
    return { deployment, provider, body, signal, upstreamStarted, answer: { kind: 'complete', output } }
  } catch (error) {
    signal.done()
    // Release the upstream body of a stream that failed before its first delta.
    void rest?.return?.()?.catch(() => undefined)
    throw signal.toError(error)
  }
}

async function completeChat(call: Call, output: ChatOutput): Promise<Response> {
  const { gw } = call
  // Read while the response is built, so the x-litellm-key-spend header adds no wait.
  const keySpend = keySpendBefore(gw, call.caller)
  const upstreamMs = gw.now() - call.upstreamStarted
  gw.router.ended(
    call.deployment,
    { ok: true, latencyMs: upstreamMs, tokens: output.usage?.total_tokens },
    call.context.waitUntil,
  )
  const headers = responseHeaders(call, upstreamMs)
  const meta = completionMeta(call)
  const cost = recordCallSpend(call.spend, {
    requestId: meta.id,
    usage: output.usage,
    status: 'success',
    firstTokenAt: gw.clock(),
  })
  setSpendHeaders(headers, call.caller, cost, await keySpend)
  if (call.limits) settleLater(gw, call.context, call.limits, output.usage?.total_tokens)
  headers.set('content-type', 'application/json')
  return new Response(JSON.stringify(toChatCompletion(output, meta)), {
    status: 200,
    headers,
  })
}

/**
 * Streams are answered only once the first delta is in (see attemptOn): an exception frame that
 * Bedrock sends before any content (throttling, validation) is then an ordinary HTTP error with
 * its status (429, 400 …) that SDKs, retries and fallbacks understand, as LiteLLM does, instead of
 * a 200 with an error event. After the first byte, failures can only be in-band.
 */
function streamChat(
  call: Call,
  first: IteratorResult<ChatDelta>,
  iterator: AsyncIterator<ChatDelta>,
): Response {
  const { gw, signal } = call
  const upstreamStarted = call.upstreamStarted
  const ttftMs = gw.now() - upstreamStarted
  const firstTokenAt = gw.clock()
  const headers = responseHeaders(call, ttftMs)
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
      gw.router.ended(
        call.deployment,
        {
          ok: outcome.error === undefined,
          latencyMs: ttftMs,
          streamed: true,
          tokens: outcome.usage?.total_tokens,
          error: outcome.error === undefined ? undefined : toGatewayError(outcome.error),
        },
        call.context.waitUntil,
      )
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

function responseHeaders(call: Call, upstreamMs: number): Headers {
  const responseMs = call.gw.now() - call.started
  const headers = litellmHeaders({
    callId: call.callId,
    deployment: call.deployment,
    apiBase: call.spend.apiBase,
    overheadMs: Math.max(0, responseMs - upstreamMs),
    responseMs,
  })
  for (const [name, value] of Object.entries(call.limits?.headers ?? {})) headers.set(name, value)
  for (const [name, value] of Object.entries(call.reliability)) headers.set(name, value)
  return headers
}
