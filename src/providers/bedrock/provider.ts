import { resolveAwsCredentials } from '../../aws/credentials'
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

/** POSTs a Converse(Stream) call and returns the 2xx response; anything else throws a GatewayError. */
async function send(
  request: ChatRequest,
  call: ProviderCall,
  operation: ConverseOperation,
): Promise<Response> {
  const { deployment, env } = call
  // Map first: a bad request is the client's fault whatever the credentials.
  const body = JSON.stringify(toConverseRequest(request, deployment))
  const modelId = bedrockModelId(deployment)
  const region = bedrockRegion(deployment.params, modelId, env)
  const base = bedrockRuntimeBase(deployment.params, env, region)
  const credentials = await resolveAwsCredentials(deployment.params, env)
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
      message: `litellm.APIConnectionError: BedrockException - could not reach ${new URL(base).host}: ${
        error instanceof Error ? error.message : 'network error'
      }`,
      origin: 'upstream',
      retryable: true,
      cause: error,
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

  async complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput> {
    const response = await send(request, call, 'converse')
    return toChatOutput(await readJson(response), call.deployment.providerModel)
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
