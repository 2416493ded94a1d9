import { errorResponse, type GatewayError, toGatewayError } from '../errors'
import { toChatCompletion } from '../openai/chat-chunks'
import type { ChatRequest } from '../openai/chat-request'
import { chatRequestSchema } from '../openai/chat-request'
import { readJsonBody } from '../openai/read-json-body'
import { toSseStream } from '../openai/sse-stream'
import { validate } from '../openai/validate'
import { providerFor } from '../providers/registry'
import type { ChatDelta, Deployment } from '../providers/types'
import { pickDeployment } from '../router/pick-deployment'
import { callSignal } from './call-signal'
import type { Gateway } from './context'
import { litellmHeaders } from './litellm-headers'

/**
 * POST /v1/chat/completions and /chat/completions.
 *
 * Overhead is measured the way LiteLLM reports it in `x-litellm-overhead-duration-ms`: time spent
 * in the gateway, i.e. total time to the response headers minus time waiting on the upstream.
 */
export async function chatCompletions(request: Request, gw: Gateway): Promise<Response> {
  const started = gw.now()
  const callId = crypto.randomUUID()
  let deployment: Deployment | undefined
  try {
    await gw.authenticate(request)
    const body = validate(chatRequestSchema, await readJsonBody(request, gw.maxBodyBytes))
    const chosen = pickDeployment(gw.groups.resolve(body.model), gw.random)
    deployment = chosen
    const provider = providerFor(chosen, body)
    const timeoutSeconds = numberParam(deployment.params.timeout) ?? gw.defaultTimeoutSeconds
    const call = callSignal(request.signal, timeoutSeconds, body.model)
    const providerCall = {
      deployment: chosen,
      env: gw.env,
      fetch: gw.fetch,
      signal: call.signal,
      dropParams: dropParams(body, chosen, gw),
    }
    const apiBase = provider.apiBase?.(deployment, gw.env)
    const meta = { id: `chatcmpl-${callId}`, created: Math.floor(Date.now() / 1000), model: body.model }

    const upstreamStarted = gw.now()
    if (body.stream) {
      let deltas: AsyncIterable<ChatDelta>
      try {
        deltas = await provider.stream(body, providerCall)
      } catch (error) {
        call.done()
        throw call.toError(error)
      }
      const headers = timingHeaders(gw, callId, deployment, apiBase, started, gw.now() - upstreamStarted)
      headers.set('content-type', 'text/event-stream; charset=utf-8')
      headers.set('cache-control', 'no-cache')
      const stream = toSseStream(mapErrors(deltas, call.toError), {
        meta,
        includeUsage: body.stream_options?.include_usage === true,
        onCancel: call.abort,
        onEnd: (outcome) => {
          call.done()
          logEnd(gw, callId, body, chosen, outcome.error, outcome.cancelled)
        },
      })
      return new Response(stream, { status: 200, headers })
    }

    let output: Awaited<ReturnType<typeof provider.complete>>
    try {
      output = await provider.complete(body, providerCall)
    } catch (error) {
      throw call.toError(error)
    } finally {
      call.done()
    }
    const headers = timingHeaders(gw, callId, deployment, apiBase, started, gw.now() - upstreamStarted)
    headers.set('content-type', 'application/json')
    logEnd(gw, callId, body, deployment, undefined, false)
    return new Response(JSON.stringify(toChatCompletion(output, meta)), { status: 200, headers })
  } catch (thrown) {
    if (request.signal.aborted) {
      // The client is gone; nobody reads this answer (499 is nginx's "client closed request").
      gw.logger.debug('client went away', { callId })
      return new Response(null, { status: 499 })
    }
    const error = toGatewayError(thrown)
    logFailure(gw, callId, error, thrown)
    return errorResponse(error, litellmHeaders({ callId, deployment }))
  }
}

function timingHeaders(
  gw: Gateway,
  callId: string,
  deployment: Deployment,
  apiBase: string | undefined,
  started: number,
  upstreamMs: number,
): Headers {
  const responseMs = gw.now() - started
  const overheadMs = Math.max(0, responseMs - upstreamMs)
  return litellmHeaders({ callId, deployment, apiBase, overheadMs, responseMs })
}

async function* mapErrors(deltas: AsyncIterable<ChatDelta>, toError: (e: unknown) => unknown) {
  try {
    yield* deltas
  } catch (error) {
    throw toError(error)
  }
}

function logEnd(
  gw: Gateway,
  callId: string,
  body: ChatRequest,
  deployment: Deployment,
  error: unknown,
  cancelled: boolean,
) {
  if (error !== undefined)
    gw.logger.warn('stream failed', { callId, model: body.model, deployment: deployment.id, error })
  else if (cancelled) gw.logger.debug('stream cancelled by client', { callId, deployment: deployment.id })
}

/** Our bugs are errors, upstream trouble is a warning, a client's bad request is debug noise. */
function logFailure(gw: Gateway, callId: string, error: GatewayError, thrown: unknown) {
  const fields = { callId, status: error.status, message: error.message }
  if (error.origin === 'client') gw.logger.debug('request rejected', fields)
  else if (error.origin === 'upstream') gw.logger.warn('upstream call failed', fields)
  else if (error.status >= 500) gw.logger.error('chat completion failed', { ...fields, error: thrown })
  else gw.logger.info('request refused', fields)
}

/** Request, then deployment, then `litellm_settings.drop_params` (LiteLLM's precedence). */
function dropParams(body: ChatRequest, deployment: Deployment, gw: Gateway): boolean {
  for (const value of [body.drop_params, deployment.params.drop_params, gw.config.litellmSettings.drop_params]) {
    if (typeof value === 'boolean') return value
  }
  return gw.env.LITELLM_DROP_PARAMS === 'true' || gw.env.LITELLM_DROP_PARAMS === 'True'
}

function numberParam(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined
}
