import { GatewayError } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type {
  ChatDelta,
  ChatOutput,
  ChatProvider,
  EmbeddingOutput,
  EmbeddingRequest,
  ProviderCall,
} from '../types'
import { connectionFailures, networkReason, sendUpstream } from '../upstream-response'
import { toUpstreamChatBody } from './chat-body'
import { toChatOutput } from './chat-output'
import { streamDeltas } from './chat-stream'
import { toEmbeddingOutput, toUpstreamEmbeddingBody } from './embeddings'
import { reportedBase, type UpstreamTarget, upstreamBase, upstreamTarget, upstreamUrl } from './endpoint'
import { badUpstreamAnswer, type ErrorContext, upstreamHttpError } from './errors'
import { sseEvents } from './sse-events'

const contextOf = (target: UpstreamTarget): ErrorContext => ({
  exceptionName: target.exceptionName,
  apiKey: target.apiKey,
})

/**
 * Headers for one call: the deployment's `extra_headers` (LiteLLM sends them too), then the ones the
 * gateway owns, so a config cannot lose the content type or key by accident.
 */
function headersFor(call: ProviderCall, target: UpstreamTarget, accept: string): Headers {
  const headers = new Headers()
  const extra = call.deployment.params.extra_headers
  if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) {
    for (const [name, value] of Object.entries(extra)) {
      if (typeof value === 'string' || typeof value === 'number') headers.set(name, String(value))
    }
  }
  headers.set('content-type', 'application/json')
  headers.set('accept', accept)
  if (target.apiKey !== undefined) headers.set('authorization', `Bearer ${target.apiKey}`)
  if (target.organization !== undefined) headers.set('openai-organization', target.organization)
  return headers
}

/** POSTs one JSON body and returns the 2xx response; anything else throws a GatewayError. */
function post(
  call: ProviderCall,
  target: UpstreamTarget,
  path: 'chat/completions' | 'embeddings',
  body: Record<string, unknown>,
  accept: string,
): Promise<Response> {
  const send = () =>
    call.fetch(upstreamUrl(target.base, path), {
      method: 'POST',
      headers: headersFor(call, target, accept),
      body: JSON.stringify(body),
      signal: call.signal,
      // A redirect would carry the bearer key to another host, and could point at an address the
      // api_base check refused (a metadata endpoint); OpenAI-compatible servers do not redirect POSTs.
      redirect: 'manual',
    })
  return sendUpstream(send, call.signal, {
    ...connectionFailures({
      who: (className) => `${className}: ${target.exceptionName}`,
      host: target.base.host,
      redirectAdvice: 'redirects are not followed. Check api_base.',
    }),
    failed: (status, headers, text) => upstreamHttpError(status, headers, text, contextOf(target)),
  })
}

async function readJson(response: Response, call: ProviderCall, context: ErrorContext): Promise<unknown> {
  try {
    return await response.json()
  } catch (error) {
    if (call.signal.aborted) throw error
    throw badUpstreamAnswer('the response is not valid JSON.', context)
  }
}

/**
 * `openai/…`, `hosted_vllm/…`, `litellm_proxy/…`, `custom_openai/…`, `openai_like/…`: any server that
 * speaks OpenAI's chat-completions and embeddings API, called with a bearer key.
 */
export const openaiCompatibleProvider: ChatProvider = {
  apiBase(deployment, env) {
    return reportedBase(upstreamBase(deployment, env))
  },

  /**
   * Streamed chunks report the deployment's model (the HTTP layer names the stream before the first
   * chunk); a non-streaming answer reports the upstream's `model` field, as LiteLLM does.
   */
  responseModel(deployment) {
    return deployment.providerModel
  },

  async complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput> {
    // Map first: a bad request is the client's fault whatever the configuration.
    const body = toUpstreamChatBody(request, call.deployment, { stream: false, dropParams: call.dropParams })
    const target = upstreamTarget(call.deployment, call.env)
    const response = await post(call, target, 'chat/completions', body, 'application/json')
    return toChatOutput(
      await readJson(response, call, contextOf(target)),
      request.messages,
      contextOf(target),
    )
  },

  async stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>> {
    const body = toUpstreamChatBody(request, call.deployment, { stream: true, dropParams: call.dropParams })
    const target = upstreamTarget(call.deployment, call.env)
    const response = await post(call, target, 'chat/completions', body, 'text/event-stream')
    if (!response.body) throw badUpstreamAnswer('the stream answered without a body.', contextOf(target))
    const events = sseEvents(response.body, {
      signal: call.signal,
      tooLarge: (detail) => badUpstreamAnswer(detail, contextOf(target)),
      readFailure: (error) =>
        new GatewayError({
          status: 502,
          message: `litellm.APIConnectionError: APIConnectionError: ${target.exceptionName} - the connection to ${target.base.host} failed mid-stream (${networkReason(error)}).`,
          origin: 'upstream',
          cause: error,
        }),
    })
    return streamDeltas(events, contextOf(target))
  },

  async embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingOutput> {
    const body = toUpstreamEmbeddingBody(request, call.deployment)
    const target = upstreamTarget(call.deployment, call.env)
    const response = await post(call, target, 'embeddings', body, 'application/json')
    return toEmbeddingOutput(
      await readJson(response, call, contextOf(target)),
      request.input,
      contextOf(target),
    )
  },
}
