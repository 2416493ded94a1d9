import type { Logger } from '../../observability/logger'
import type { ChatRequest } from '../../openai/chat-request'
import type { LitellmParams } from '../types'

/**
 * Request members Converse takes as they are, as LiteLLM does, with the operator in charge of what
 * costs money or bypasses policy:
 * - `guardrailConfig`: the deployment's (`litellm_params`) always wins. A client may only add a
 *   guardrail to a deployment without one; it can never replace or weaken the operator's.
 * - `performanceConfig` (latency-optimized inference is priced differently) and `requestMetadata`
 *   (cost attribution in AWS billing and invocation logs): from `litellm_params` only.
 * - any other member LiteLLM does not know (a provider-specific parameter, typically sent with the
 *   OpenAI SDK's `extra_body`) → `additionalModelRequestFields`, LiteLLM's "model-specific params",
 *   except the OPERATOR_ONLY_FIELDS below.
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

/**
 * The guardrail a call runs under: the deployment's when it has one (a client's is then ignored,
 * logged at debug), else the client's. Shared by the Converse body and the Invoke headers.
 */
export function effectiveGuardrail(
  req: ChatRequest,
  params: LitellmParams,
  logger?: Pick<Logger, 'debug'>,
): Record<string, unknown> | undefined {
  const operator = params.guardrailConfig
  if (isRecord(operator)) {
    if (req.guardrailConfig !== undefined && req.guardrailConfig !== null) {
      logger?.debug('request guardrailConfig ignored: the deployment sets its own', { model: params.model })
    }
    return operator
  }
  return isRecord(req.guardrailConfig) ? req.guardrailConfig : undefined
}

export function converseBlocks(
  req: ChatRequest,
  params: LitellmParams,
  logger?: Pick<Logger, 'debug'>,
): ConverseBlocks {
  const blocks: ConverseBlocks = {}
  const guardrail = effectiveGuardrail(req, params, logger)
  if (guardrail) blocks.guardrailConfig = guardrailConfig(guardrail, req.stream === true)
  if (isRecord(params.performanceConfig)) blocks.performanceConfig = params.performanceConfig
  if (isRecord(params.requestMetadata)) blocks.requestMetadata = params.requestMetadata
  return blocks
}

/**
 * Model fields a client may set only where the deployment's `litellm_params` sets them too:
 * `anthropic_beta` switches on premium features (the 1M context window bills at higher rates the
 * spend tracking does not know), `system` would replace the conversation's system prompt behind the
 * gateway's back, and `max_tokens_to_sample` would lift the deployment's output cap.
 */
export const OPERATOR_ONLY_FIELDS: readonly string[] = ['anthropic_beta', 'system', 'max_tokens_to_sample']

/**
 * An operator-only field's value: absent unless `litellm_params` sets it; then the request may
 * override the deployment's value, as with any other deployment default.
 */
export function operatorField(req: ChatRequest, params: LitellmParams, name: string): unknown {
  const configured = params[name]
  if (configured === undefined || configured === null) return undefined
  return req[name] ?? configured
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

/** Request members LiteLLM would forward as model-specific parameters, operator-only ones as configured. */
export function providerSpecificFields(req: ChatRequest, params: LitellmParams): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(req)) {
    if (value === undefined || value === null || isKnownMember(name) || OPERATOR_ONLY_FIELDS.includes(name))
      continue
    fields[name] = value
  }
  for (const name of OPERATOR_ONLY_FIELDS) {
    const value = operatorField(req, params, name)
    if (value !== undefined) fields[name] = value
  }
  return fields
}
