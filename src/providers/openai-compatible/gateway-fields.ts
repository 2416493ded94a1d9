/**
 * Which request and config members reach an OpenAI-compatible upstream. One list each, so chat and
 * embeddings strip the same things.
 */

/**
 * Request members that steer the gateway (LiteLLM's proxy and router params) and mean nothing, or
 * something else, upstream. Stripped, as LiteLLM does before its OpenAI client is called. `metadata`
 * is OpenAI's stored-completions tag too, but LiteLLM keeps it for its own logging and never sends it.
 */
export const GATEWAY_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'metadata',
  'litellm_metadata',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'disable_fallbacks',
  'num_retries',
  'max_retries',
  'retry_policy',
  'drop_params',
  'additional_drop_params',
  'user_config',
  'timeout',
  'stream_timeout',
  'request_timeout',
  'caching',
  'cache',
  'no-log',
  'no_log',
  'tags',
  'guardrails',
  'model_list',
  'proxy_server_request',
  'secret_fields',
  'litellm_call_id',
  'litellm_trace_id',
  'litellm_session_id',
  'litellm_logging_obj',
  'prompt_id',
  'prompt_variables',
  'input_cost_per_token',
  'output_cost_per_token',
  'input_cost_per_second',
  'output_cost_per_second',
  // Headers are the gateway's to choose (the upstream key travels in one).
  'extra_headers',
  // Bedrock's guardrail block: a client of a group mixing Bedrock and OpenAI-compatible deployments
  // sends it to all of them, and OpenAI refuses unknown parameters.
  'guardrailConfig',
])

/** LiteLLM's test hooks: `mock_response`, `mock_testing_fallbacks`, `mock_timeout` … */
export const isGatewayOnlyField = (name: string): boolean =>
  GATEWAY_ONLY_FIELDS.has(name) || name.startsWith('mock_')

/**
 * LiteLLM's client-side credential params. LiteLLM refuses `api_base`/`base_url` in a request body
 * unless `allow_client_side_credentials` is set, and with it would call the client's server with the
 * client's key. This gateway never does that, so they are refused (400) rather than stripped: a
 * client that sends them expects them to be used, and silently calling the operator's upstream with
 * the operator's key instead (or forwarding the client's key in the body to a third party) would be
 * a surprise either way. `organization` picks which OpenAI organization the operator's key bills.
 */
export const CLIENT_CREDENTIAL_FIELDS: readonly string[] = ['api_key', 'api_base', 'base_url', 'organization']

/**
 * `litellm_params` members sent as defaults for every call (the request wins): the OpenAI chat
 * parameters plus the sampling extras vLLM and most OpenAI-compatible servers accept. An allow-list,
 * unlike LiteLLM's "everything it does not know", because `litellm_params` also holds secrets for
 * other systems (AWS keys, logging callbacks' keys) that must never reach a third-party server.
 * Anything else an upstream needs goes under `extra_body`, which is merged in as the OpenAI SDK does.
 */
export const DEPLOYMENT_DEFAULT_PARAMS: readonly string[] = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'response_format',
  'tool_choice',
  'parallel_tool_calls',
  'reasoning_effort',
  'service_tier',
  'top_k',
  'min_p',
  'repetition_penalty',
]
