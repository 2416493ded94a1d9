import { decodeEventStream } from '../../aws/event-stream'
import { signedFetch } from '../../aws/signed-fetch'
import { GatewayError } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type { ChatDelta, ChatOutput, ChatProvider, Deployment, ProviderCall } from '../types'
import { connectionFailures, sendUpstream } from '../upstream-response'
import {
  endpointName,
  type SagemakerOperation,
  sagemakerFullUrl,
  sagemakerRegion,
  sagemakerRuntimeBase,
  sagemakerUrl,
} from './endpoint'
import { sagemakerBadReply, sagemakerError } from './errors'
import { toMessagesApiRequest } from './messages-request'
import { messagesApiOutput } from './messages-response'
import { messagesStreamDeltas } from './messages-stream'
import { payloadEvents } from './payload-events'
import { sagemakerHeaders } from './request-headers'
import { toTgiRequest } from './tgi-request'
import { tgiOutput } from './tgi-response'
import { tgiStreamDeltas } from './tgi-stream'

/** SageMaker Runtime signs as `sagemaker` (protocols.md 3.1). */
const SIGNING_SERVICE = 'sagemaker'

/** POSTs one InvokeEndpoint(WithResponseStream) call and returns the 2xx response; else throws a GatewayError. */
async function send(call: ProviderCall, operation: SagemakerOperation, body: string): Promise<Response> {
  const { deployment, env } = call
  const endpoint = endpointName(deployment)
  const region = sagemakerRegion(deployment.params, endpoint, env)
  const url = sagemakerUrl(deployment, env, operation)
  const headers = sagemakerHeaders(deployment.params, operation)
  const credentials = await call.aws.credentials(deployment.params, deployment.modelName)
  const host = new URL(url).host
  const post = () =>
    signedFetch(
      {
        url,
        method: 'POST',
        headers,
        body,
        credentials,
        service: SIGNING_SERVICE,
        region,
        signal: call.signal,
      },
      call.fetch,
    )
  return sendUpstream(post, call.signal, {
    // Redirects are not followed (signedFetch): the signed headers must not travel to another host.
    ...connectionFailures({
      who: () => 'SagemakerException',
      host,
      redirectAdvice:
        'redirects are not followed for signed AWS requests. Check api_base / sagemaker_base_url.',
    }),
    failed: sagemakerError,
  })
}

async function readJson(response: Response, signal: AbortSignal): Promise<unknown> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    if (signal.aborted) throw error
    throw new GatewayError({
      status: 502,
      message:
        'litellm.BadGatewayError: SagemakerException - the connection failed while reading the answer.',
      origin: 'upstream',
      cause: error,
    })
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new GatewayError({
      status: 502,
      message:
        'litellm.BadGatewayError: SagemakerException - the endpoint answered with something that is not JSON.',
      origin: 'upstream',
      cause: error,
    })
  }
}

function streamBody(response: Response): ReadableStream<Uint8Array> {
  if (!response.body) throw sagemakerBadReply('InvokeEndpointWithResponseStream answered without a body.')
  return response.body
}

/** Shared by both prefixes: the upstream address and the model reported (the endpoint name, as LiteLLM). */
const common: Pick<ChatProvider, 'apiBase' | 'responseModel'> = {
  apiBase(deployment: Deployment, env) {
    const full = sagemakerFullUrl(deployment.params)
    if (full !== undefined) return full
    const endpoint = endpointName(deployment)
    return sagemakerRuntimeBase(deployment.params, env, sagemakerRegion(deployment.params, endpoint, env))
  },
  responseModel(deployment: Deployment) {
    return deployment.providerModel
  },
}

/** `sagemaker/<endpoint>`: TGI / JumpStart text-generation containers. */
export const sagemakerProvider: ChatProvider = {
  ...common,

  async complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput> {
    // Map first: a bad request is the client's fault whatever the credentials.
    const body = toTgiRequest(request, call.deployment, { dropParams: call.dropParams, stream: false })
    const response = await send(call, 'invocations', JSON.stringify(body))
    return tgiOutput(await readJson(response, call.signal), body.inputs)
  },

  async stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>> {
    const body = toTgiRequest(request, call.deployment, { dropParams: call.dropParams, stream: true })
    const response = await send(call, 'invocations-response-stream', JSON.stringify(body))
    return tgiStreamDeltas(payloadEvents(decodeEventStream(streamBody(response), call.signal)), body.inputs)
  },
}

/** `sagemaker_chat/<endpoint>`: Messages-API containers (TGI Messages API, DJL LMI, vLLM). */
export const sagemakerChatProvider: ChatProvider = {
  ...common,

  async complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput> {
    const endpoint = endpointName(call.deployment)
    const body = toMessagesApiRequest(request, call.deployment, endpoint, false)
    const response = await send(call, 'invocations', JSON.stringify(body))
    return messagesApiOutput(await readJson(response, call.signal), request.messages)
  },

  async stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>> {
    const endpoint = endpointName(call.deployment)
    const body = toMessagesApiRequest(request, call.deployment, endpoint, true)
    const response = await send(call, 'invocations-response-stream', JSON.stringify(body))
    return messagesStreamDeltas(
      payloadEvents(decodeEventStream(streamBody(response), call.signal)),
      request.messages,
    )
  },
}
