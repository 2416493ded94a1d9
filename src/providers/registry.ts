import { GatewayError } from '../errors'
import { bedrockProvider } from './bedrock/provider'
import { mockProvider } from './mock/provider'
import { openaiCompatibleProvider } from './openai-compatible/provider'
import { sagemakerChatProvider, sagemakerProvider } from './sagemaker/provider'
import type { ChatProvider, Deployment } from './types'

const PROVIDERS: Record<string, ChatProvider> = {
  bedrock: bedrockProvider,
  mock: mockProvider,
  sagemaker: sagemakerProvider,
  sagemaker_chat: sagemakerChatProvider,
  openai: openaiCompatibleProvider,
  hosted_vllm: openaiCompatibleProvider,
  litellm_proxy: openaiCompatibleProvider,
  custom_openai: openaiCompatibleProvider,
  openai_like: openaiCompatibleProvider,
}

export const supportedProviders = (): string[] => Object.keys(PROVIDERS)

/**
 * The provider for one call. A `mock_response` (request body or litellm_params) short-circuits to
 * the mock, whatever the deployment's provider, exactly as LiteLLM does.
 */
export function providerFor(deployment: Deployment, request: { mock_response?: unknown }): ChatProvider {
  if (request.mock_response !== undefined || deployment.params.mock_response !== undefined)
    return mockProvider
  const provider = PROVIDERS[deployment.provider]
  if (provider) return provider
  throw new GatewayError({
    status: 400,
    message: `Provider '${deployment.provider}' (model=${deployment.params.model}) is not supported by this gateway yet. Supported: ${supportedProviders().join(', ')}.`,
    param: 'model',
    origin: 'gateway',
    retryable: false,
  })
}
