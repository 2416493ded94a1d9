import type { ChatRequest } from '../../openai/chat-request'
import type { Deployment } from '../types'

/**
 * OpenAI chat request → body for a Messages-API container (`sagemaker_chat/`: TGI Messages API, DJL
 * LMI, vLLM), as LiteLLM's `SagemakerChatConfig`: the OpenAI request itself, with `model` set to the
 * endpoint name (LiteLLM sends the model it was given; TGI and LMI ignore it) and the gateway's own
 * fields removed. The container validates the rest; unknown parameters are its call, not ours.
 *
 * Streaming sends `"stream": true` (TGI decides from the body, not from which SageMaker API was
 * called) and asks for the usage chunk, so spend is billed from the container's own token counts.
 */

/** Request members that steer LiteLLM/the gateway and mean nothing (or something else) upstream. */
const GATEWAY_ONLY = new Set([
  'model',
  'stream',
  'stream_options',
  'mock_response',
  'timeout',
  'stream_timeout',
  'drop_params',
  'metadata',
  'litellm_metadata',
  'num_retries',
  'max_retries',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'caching',
  'cache',
  'tags',
  'api_key',
  'api_base',
  'base_url',
  'aws_sagemaker_allow_zero_temp',
])

/** Sampling defaults a deployment may set in `litellm_params` (the request wins). */
const DEFAULTABLE = [
  'temperature',
  'max_tokens',
  'max_completion_tokens',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'top_k',
  'repetition_penalty',
] as const

export function toMessagesApiRequest(
  req: ChatRequest,
  deployment: Deployment,
  endpoint: string,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model: endpoint }
  for (const key of DEFAULTABLE) {
    const value = deployment.params[key]
    if (value !== undefined && value !== null) body[key] = value
  }
  for (const [key, value] of Object.entries(req)) {
    if (!GATEWAY_ONLY.has(key) && value !== undefined && value !== null) body[key] = value
  }
  if (stream) {
    const options =
      typeof req.stream_options === 'object' && req.stream_options !== null ? req.stream_options : {}
    body.stream = true
    body.stream_options = { ...options, include_usage: true }
  }
  return body
}
