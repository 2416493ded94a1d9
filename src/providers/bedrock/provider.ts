import { decodeEventStream } from '../../aws/event-stream'
import { signedFetch } from '../../aws/signed-fetch'
import { GatewayError } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type { ChatDelta, ChatOutput, ChatProvider, ProviderCall } from '../types'
import { toConverseRequest } from './converse-request'
import { toChatOutput } from './converse-response'
import { converseStreamDeltas } from './converse-stream'
import type { ConverseResponse } from './converse-types'
import { bedrockRegion, bedrockRuntimeBase, type ConverseOperation, converseUrl } from './endpoint'
import { bedrockError } from './errors'
import { bedrockModelId } from './model-id'

/** Bedrock Runtime signs as `bedrock`, whatever the host name says. */
const SIGNING_SERVICE = 'bedrock'

const ACCEPT: Record<ConverseOperation, string> = {
  converse: 'application/json',
  'converse-stream': 'application/vnd.amazon.eventstream',
}

/**
 * Why a connection failed, without its message: runtimes put URLs, headers or whatever a proxy said
 * into network error messages, and those reach the client. Only an errno-style code
 * (`ECONNREFUSED`, from Node's `cause`) or the error's class name is kept.
 */
export function networkReason(error: unknown): string {
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined
  }
  const name =
    error instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : undefined
  return codeOf(error instanceof Error ? error.cause : undefined) ?? codeOf(error) ?? name ?? 'network error'
}

/** `redirect: 'manual'` gives a 3xx on servers/Node and an opaque (status 0) response in browsers. */
const isRedirect = (response: Response): boolean =>
  response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)

/** POSTs a Converse(Stream) call and returns the 2xx response; anything else throws a GatewayError. */
async function send(
  request: ChatRequest,
  call: ProviderCall,
  operation: ConverseOperation,
): Promise<Response> {
  const { deployment, env } = call
  // The route decides the API: an unsupported one fails before anything is mapped or sent.
  const modelId = bedrockModelId(deployment)
  // Map next: a bad request is the client's fault whatever the credentials.
  const body = JSON.stringify(toConverseRequest(request, deployment, { dropParams: call.dropParams }))
  const region = bedrockRegion(deployment.params, modelId, env)
  const base = bedrockRuntimeBase(deployment.params, env, region)
  const credentials = await call.aws.credentials(deployment.params, deployment.modelName)
  let response: Response
  try {
    response = await signedFetch(
      {
        url: converseUrl(base, modelId, operation),
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT[operation] },
        body,
        credentials,
        service: SIGNING_SERVICE,
        region,
        signal: call.signal,
      },
      call.fetch,
    )
  } catch (error) {
    // An abort is the caller's decision (client gone, timeout): let it through untouched.
    if (call.signal.aborted) throw error
    throw new GatewayError({
      status: 502,
      message: `litellm.APIConnectionError: BedrockException - could not reach ${new URL(base).host} (${networkReason(error)}).`,
      origin: 'upstream',
      retryable: true,
      cause: error,
    })
  }
  if (isRedirect(response)) {
    await response.body?.cancel().catch(() => undefined)
    // Not followed (signedFetch): the signed headers must not travel to another host. Bedrock never
    // redirects, so this is a misconfigured endpoint or a proxy in the way; another deployment may work.
    throw new GatewayError({
      status: 502,
      message: `litellm.BadGatewayError: BedrockException - ${new URL(base).host} answered with a redirect${
        response.status > 0 ? ` (HTTP ${response.status})` : ''
      }; redirects are not followed for signed AWS requests. Check aws_bedrock_runtime_endpoint / api_base.`,
      origin: 'upstream',
      retryable: true,
    })
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '')
    throw bedrockError(response.status, response.headers, text)
  }
  return response
}

async function readJson(response: Response): Promise<ConverseResponse> {
  try {
    return (await response.json()) as ConverseResponse
  } catch (error) {
    throw new GatewayError({
      status: 502,
      message: 'litellm.BadGatewayError: BedrockException - the Converse response is not valid JSON.',
      origin: 'upstream',
      cause: error,
    })
  }
}

export const bedrockProvider: ChatProvider = {
  apiBase(deployment, env) {
    const region = bedrockRegion(deployment.params, bedrockModelId(deployment), env)
    return bedrockRuntimeBase(deployment.params, env, region)
  },

  /** The streamed chunks report the same model as a non-streaming answer. */
  responseModel(deployment) {
    return bedrockModelId(deployment)
  },

  async complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput> {
    const response = await send(request, call, 'converse')
    // LiteLLM reports the Bedrock model id it called, without LiteLLM's `converse/` route marker.
    return toChatOutput(await readJson(response), bedrockModelId(call.deployment))
  },

  async stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>> {
    const response = await send(request, call, 'converse-stream')
    if (!response.body) {
      throw new GatewayError({
        status: 502,
        message: 'litellm.BadGatewayError: BedrockException - ConverseStream answered without a body.',
        origin: 'upstream',
      })
    }
    return converseStreamDeltas(decodeEventStream(response.body, call.signal))
  },
}
