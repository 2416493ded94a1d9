import { decodeEventStream } from '../../aws/event-stream'
import type { ChatRequest } from '../../openai/chat-request'
import type {
  ChatDelta,
  ChatOutput,
  ChatProvider,
  EmbeddingOutput,
  EmbeddingRequest,
  ProviderCall,
} from '../types'
import { converseOutputOptions } from './converse-json-mode'
import { toConverseRequest } from './converse-request'
import { toChatOutput } from './converse-response'
import { converseStreamDeltas } from './converse-stream'
import type { ConverseResponse } from './converse-types'
import { bedrockEmbed } from './embeddings-call'
import { bedrockRegion, bedrockRuntimeBase } from './endpoint'
import { invokeGuardrailHeaders } from './invoke-guardrail'
import { anthropicInvokeModel, toAnthropicInvokeRequest } from './invoke-request'
import { anthropicToChatOutput } from './invoke-response'
import { invokeStreamDeltas } from './invoke-stream'
import type { AnthropicResponse } from './invoke-types'
import { bedrockModelId, bedrockRoute } from './model-id'
import { postToBedrock, readBedrockJson, streamBody } from './runtime-post'

/**
 * The request body for the deployment's route. The route decides first, so an unsupported one fails
 * before anything is mapped; mapping comes next, so a bad request is the client's fault whatever the
 * credentials; only then does `postToBedrock` resolve region, endpoint and credentials.
 */
function chatBody(
  request: ChatRequest,
  call: ProviderCall,
): { invoke: boolean; body: string; headers: Record<string, string> } {
  const { deployment, dropParams, logger } = call
  if (bedrockRoute(deployment) === 'invoke') {
    anthropicInvokeModel(deployment)
    return {
      invoke: true,
      body: JSON.stringify(toAnthropicInvokeRequest(request, deployment, { dropParams })),
      headers: invokeGuardrailHeaders(request, deployment.params, logger),
    }
  }
  return {
    invoke: false,
    body: JSON.stringify(toConverseRequest(request, deployment, { dropParams, logger })),
    headers: {},
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
    const modelId = bedrockModelId(call.deployment)
    const { invoke, body, headers } = chatBody(request, call)
    // LiteLLM reports the Bedrock model id it called, without LiteLLM's route marker.
    if (invoke) {
      const response = await postToBedrock(call, modelId, 'invoke', body, headers)
      return anthropicToChatOutput(
        await readBedrockJson<AnthropicResponse>(response, 'InvokeModel'),
        modelId,
        converseOutputOptions(request),
      )
    }
    const response = await postToBedrock(call, modelId, 'converse', body)
    return toChatOutput(
      await readBedrockJson<ConverseResponse>(response, 'Converse'),
      modelId,
      converseOutputOptions(request),
    )
  },

  async stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>> {
    const modelId = bedrockModelId(call.deployment)
    const { invoke, body, headers } = chatBody(request, call)
    if (invoke) {
      const response = await postToBedrock(call, modelId, 'invoke-with-response-stream', body, headers)
      const frames = decodeEventStream(streamBody(response, 'InvokeModelWithResponseStream'), call.signal)
      return invokeStreamDeltas(frames, converseOutputOptions(request))
    }
    const response = await postToBedrock(call, modelId, 'converse-stream', body)
    return converseStreamDeltas(
      decodeEventStream(streamBody(response, 'ConverseStream'), call.signal),
      converseOutputOptions(request),
    )
  },

  embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingOutput> {
    return bedrockEmbed(request, call)
  },
}
