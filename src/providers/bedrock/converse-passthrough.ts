import type { ChatRequest } from '../../openai/chat-request'
import type { LitellmParams } from '../types'

/**
 * Request members Converse takes as they are, as LiteLLM does:
 * - the top-level blocks `guardrailConfig`, `performanceConfig` (LiteLLM's `get_config_blocks`) and
 *   `requestMetadata`, from the request or the deployment's `litellm_params`;
 * - any other member LiteLLM does not know (a provider-specific parameter, typically sent with the
 *   OpenAI SDK's `extra_body`) → `additionalModelRequestFields`, LiteLLM's "model-specific params".
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export interface ConverseBlocks {
  guardrailConfig?: Record<string, unknown>
  performanceConfig?: Record<string, unknown>
  requestMetadata?: Record<string, unknown>
}

/**
 * `streamProcessingMode` (`sync`/`async`) exists on ConverseStream's guardrail configuration only;
 * Converse's GuardrailConfiguration has no such member, so a non-streaming call leaves it out.
 */
function guardrailConfig(value: Record<string, unknown>, stream: boolean): Record<string, unknown> {
  if (stream || !('streamProcessingMode' in value)) return value
  const { streamProcessingMode: _streamOnly, ...rest } = value
  return rest
}

export function converseBlocks(req: ChatRequest, params: LitellmParams): ConverseBlocks {
  const pick = (name: keyof ConverseBlocks): Record<string, unknown> | undefined => {
    const value = req[name] ?? params[name]
    return isRecord(value) ? value : undefined
  }
  const blocks: ConverseBlocks = {}
  const guardrail = pick('guardrailConfig')
  if (guardrail) blocks.guardrailConfig = guardrailConfig(guardrail, req.stream === true)
  const performance = pick('performanceConfig')
  if (performance) blocks.performanceConfig = performance
  const metadata = pick('requestMetadata')
  if (metadata) blocks.requestMetadata = metadata
  return blocks
}

/**
 * Every request member with a meaning elsewhere: OpenAI's chat parameters (mapped, refused or
 * ignored by the Converse mapping, never forwarded), LiteLLM's proxy and router parameters, and the
 * Converse blocks above.
 */
const KNOWN_REQUEST_MEMBERS: ReadonlySet<string> = new Set([
  // OpenAI chat completions
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'function_call',
  'response_format',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'user',
  'metadata',
  'store',
  'service_tier',
  'modalities',
  'audio',
  'prediction',
  'reasoning_effort',
  'verbosity',
  'web_search_options',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
  // Mapped by the Converse mapping itself
  'top_k',
  'thinking',
  'guardrailConfig',
  'performanceConfig',
  'requestMetadata',
  // SDK request options that are no body members
  'extra_headers',
  'extra_body',
  'extra_query',
  // LiteLLM's own parameters (`all_litellm_params`) and the proxy's, never a model's
  'acompletion',
  'api_key',
  'api_base',
  'base_url',
  'api_version',
  'organization',
  'timeout',
  'stream_timeout',
  'request_timeout',
  'force_timeout',
  'drop_params',
  'additional_drop_params',
  'num_retries',
  'max_retries',
  'retry_policy',
  'retry_strategy',
  'fallbacks',
  'context_window_fallbacks',
  'context_window_fallback_dict',
  'content_policy_fallbacks',
  'disable_fallbacks',
  'fallback_depth',
  'max_fallbacks',
  'caching',
  'cache',
  'cache_key',
  'preset_cache_key',
  'caching_groups',
  'ttl',
  'no-log',
  'no_log',
  'tags',
  'guardrails',
  'user_config',
  'model_list',
  'model_info',
  'model_config',
  'proxy_server_request',
  'secret_fields',
  'prompt_id',
  'prompt_variables',
  'prompt_version',
  'provider_specific_header',
  'headers',
  'input_cost_per_token',
  'output_cost_per_token',
  'input_cost_per_second',
  'output_cost_per_second',
  'base_model',
  'custom_llm_provider',
  'deployment_id',
  'model_id',
  'region_name',
  'allowed_model_region',
  'rpm',
  'tpm',
  'weight',
  'max_parallel_requests',
  'cooldown_time',
  'max_budget',
  'budget_duration',
  'id',
  'roles',
  'final_prompt_value',
  'initial_prompt_value',
  'bos_token',
  'eos_token',
  'hf_model_name',
  'supports_system_message',
  'user_continue_message',
  'assistant_continue_message',
  'ensure_alternating_roles',
  'fastest_response',
  'use_in_pass_through',
  'merge_reasoning_content_in_choices',
  'disable_add_transform_inline_image_block',
  'enable_json_schema_validation',
])

const isKnownMember = (name: string): boolean =>
  KNOWN_REQUEST_MEMBERS.has(name) ||
  name.startsWith('litellm_') ||
  name.startsWith('mock_') ||
  name.startsWith('aws_')

/** Request members LiteLLM would forward as model-specific parameters. */
export function providerSpecificFields(req: ChatRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(req)) {
    if (value === undefined || value === null || isKnownMember(name)) continue
    fields[name] = value
  }
  return fields
}
