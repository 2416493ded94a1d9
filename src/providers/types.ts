import type { AwsAccess } from '../aws/aws-access'
import type { Env } from '../env'
import type { Logger } from '../observability/logger'
import type { ChatRequest } from '../openai/chat-request'
import type {
  AssistantMessage,
  FinishReason,
  ThinkingBlock,
  ToolCallDelta,
  Usage,
} from '../openai/chat-response'

/**
 * One deployment of a model group (one `model_list` entry), after config resolution.
 * `params` are the entry's `litellm_params` with `os.environ/` references already resolved.
 */
export interface Deployment {
  /** `model_info.id`, else LiteLLM's deployment hash (sha256 hex). Sent as `x-litellm-model-id`. */
  id: string
  /** The model group (`model_name`) clients ask for. */
  modelName: string
  /** Provider prefix of `litellm_params.model` (`bedrock`, `sagemaker`, `mock`, `openai` …). */
  provider: string
  /** `litellm_params.model` without the provider prefix, e.g. `anthropic.claude-3-haiku-20240307-v1:0`. */
  providerModel: string
  params: LitellmParams
  modelInfo: ModelInfo
}

export interface LitellmParams {
  model: string
  api_base?: string
  api_key?: string
  aws_access_key_id?: string
  aws_secret_access_key?: string
  aws_session_token?: string
  aws_region_name?: string
  aws_bedrock_runtime_endpoint?: string
  mock_response?: string
  rpm?: number
  tpm?: number
  weight?: number
  order?: number
  timeout?: number
  stream_timeout?: number
  max_retries?: number
  [key: string]: unknown
}

export interface ModelInfo {
  id?: string
  mode?: string
  base_model?: string
  input_cost_per_token?: number
  output_cost_per_token?: number
  max_tokens?: number
  max_input_tokens?: number
  [key: string]: unknown
}

/** What a provider gets for one upstream call. Everything with I/O is injected. */
export interface ProviderCall {
  deployment: Deployment
  env: Env
  fetch: typeof fetch
  /** Aborted when the client disconnects or the call times out. */
  signal: AbortSignal
  /**
   * LiteLLM's `drop_params` (request, litellm_params or litellm_settings): silently drop OpenAI
   * parameters the provider cannot honour instead of answering 400.
   */
  dropParams: boolean
  /** AWS credentials for signed calls (cached per gateway). */
  aws: AwsAccess
  /** For what a provider decides quietly (a client's field the deployment overrides); optional in tests. */
  logger?: Logger
}

/** A finished (non-streaming) answer; the HTTP layer wraps it in a `chat.completion`. */
export interface ChatOutput {
  message: AssistantMessage
  finishReason: FinishReason
  usage: Usage
  /** Model name reported upstream, if any (else the deployment's model is reported). */
  model?: string
  /** Provider trace passed through top-level (Bedrock guardrails), as LiteLLM does. */
  trace?: unknown
}

/**
 * One streamed step. The HTTP layer turns each into a `chat.completion.chunk` (same id/created
 * for the whole stream) and encodes it as SSE. A provider never emits an empty delta.
 */
export interface ChatDelta {
  content?: string
  reasoningContent?: string
  /** Extended-thinking pieces with their signature, as LiteLLM streams them next to reasoning_content. */
  thinkingBlocks?: ThinkingBlock[]
  toolCalls?: ToolCallDelta[]
  finishReason?: FinishReason
  usage?: Usage
}

export interface ChatProvider {
  complete(request: ChatRequest, call: ProviderCall): Promise<ChatOutput>
  /**
   * Resolves once the upstream accepted the call (so errors before the first byte are ordinary
   * HTTP errors the router can retry); the iterable then yields deltas and throws a GatewayError
   * on a mid-stream failure.
   */
  stream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterable<ChatDelta>>
  /** The model name reported in responses (LiteLLM reports the provider's model id); default `providerModel`. */
  responseModel?(deployment: Deployment): string
  /** The upstream base URL, reported in `x-litellm-model-api-base` (none for the mock). */
  apiBase?(deployment: Deployment, env: Env): string
  /** `/v1/embeddings`; absent when the provider has no embedding models. */
  embed?(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingOutput>
}

/** A validated `/v1/embeddings` body with `input` normalised to a list. */
export interface EmbeddingRequest {
  model: string
  /** Strings, or token arrays where a provider accepts them. */
  input: string[] | number[][]
  encoding_format?: 'float' | 'base64'
  dimensions?: number
  user?: string
  /** Cohere's `input_type` (`search_document`, `search_query` …), passed through as LiteLLM does. */
  input_type?: string
  [key: string]: unknown
}

export interface EmbeddingOutput {
  /** One vector per input, in input order. */
  vectors: number[][]
  usage: { prompt_tokens: number; total_tokens: number }
  /** True when the upstream reported no token count and `usage` is the gateway's estimate. */
  usageEstimated?: boolean
  model?: string
}
