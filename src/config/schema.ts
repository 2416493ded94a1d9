import { z } from 'zod'
import { childPath } from './config-error'
import { pythonStr } from './deployment-id'
import { isPlainObject } from './env-refs'
import type { ConfigWarning } from './types'

/*
 * Zod schemas for LiteLLM's `proxy_config.yaml` (tables in docs/my-website/docs/proxy/config_settings.md).
 *
 * Known keys are typed; unknown keys never fail the load. They are stripped from the settings
 * sections and reported by `unknownKeyWarnings` (a typo such as `routing_stratgy` would otherwise be
 * silently ignored, as LiteLLM does). `litellm_params` and `model_info` keep every key: LiteLLM
 * forwards unknown `litellm_params` to the provider as default call params, and returns `model_info`
 * as is from /model/info.
 */

const NUMERIC = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/
const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  on: true,
  off: false,
}

/** `os.environ/` values are strings, so `rpm: os.environ/RPM` arrives as `"30"`; Python casts it later. */
const num = z.preprocess((v) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v), z.number())

/** Same for flags set from the environment (`"true"`, `"False"`). */
const bool = z.preprocess(
  (v) => (typeof v === 'string' ? (BOOLEANS[v.trim().toLowerCase()] ?? v) : v),
  z.boolean(),
)

/** Python takes any scalar where a str is expected; YAML reads `api_key: 1234` as a number. */
const toText = (v: unknown): unknown => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : v)
const text = z.preprocess(toText, z.string())
const name = z.preprocess(toText, z.string().min(1, { message: 'must not be empty' }))
const texts = z.array(text)
const anything = z.unknown()

/** `[{group: [fallback groups]}]`; LiteLLM's Router.validate_fallbacks rejects multi-key items. */
const fallbackList = z.array(
  z.record(z.string(), texts).refine((item) => Object.keys(item).length === 1, {
    message: 'each fallback must map exactly one model group to a list of model groups',
  }),
)

export const ROUTING_STRATEGIES = [
  'simple-shuffle',
  'least-busy',
  'usage-based-routing',
  'usage-based-routing-v2',
  'latency-based-routing',
  'cost-based-routing',
] as const

export const litellmParamsSchema = z.looseObject({
  model: name,
  api_base: text.optional(),
  api_key: text.optional(),
  api_version: text.optional(),
  organization: anything.optional(),
  aws_access_key_id: text.optional(),
  aws_secret_access_key: text.optional(),
  aws_session_token: text.optional(),
  aws_region_name: text.optional(),
  aws_role_name: text.optional(),
  aws_session_name: text.optional(),
  aws_external_id: text.optional(),
  aws_profile_name: text.optional(),
  aws_web_identity_token: text.optional(),
  aws_sts_endpoint: text.optional(),
  aws_bedrock_runtime_endpoint: text.optional(),
  region_name: text.optional(),
  model_id: text.optional(),
  mock_response: text.optional(),
  rpm: num.optional(),
  tpm: num.optional(),
  weight: num.optional(),
  order: num.optional(),
  timeout: num.optional(),
  stream_timeout: num.optional(),
  max_retries: num.optional(),
  max_parallel_requests: num.optional(),
  cooldown_time: num.optional(),
  input_cost_per_token: num.optional(),
  output_cost_per_token: num.optional(),
  input_cost_per_second: num.optional(),
  output_cost_per_second: num.optional(),
  tags: texts.optional(),
})

export const modelInfoSchema = z.looseObject({
  id: name.optional(),
  mode: text.optional(),
  base_model: text.optional(),
  input_cost_per_token: num.optional(),
  output_cost_per_token: num.optional(),
  input_cost_per_second: num.optional(),
  output_cost_per_second: num.optional(),
  max_tokens: num.optional(),
  max_input_tokens: num.optional(),
  max_output_tokens: num.optional(),
  supported_environments: texts.optional(),
  team_id: text.optional(),
  health_check_model: text.optional(),
  allowed_fails: num.optional(),
  cooldown_time: num.optional(),
})

/** One `model_list` entry; `rpm`/`tpm` may sit at the entry's top level (LiteLLM docs allow both). */
export const modelEntrySchema = z.object({
  model_name: name,
  litellm_params: litellmParamsSchema,
  model_info: modelInfoSchema.optional(),
  rpm: num.optional(),
  tpm: num.optional(),
})

/** Keys LiteLLM's Router also reads from `litellm_settings` (router_settings wins, see settings.ts). */
const sharedRouterKeys = {
  fallbacks: fallbackList.optional(),
  context_window_fallbacks: fallbackList.optional(),
  content_policy_fallbacks: fallbackList.optional(),
  default_fallbacks: texts.optional(),
  num_retries: num.optional(),
  allowed_fails: num.optional(),
  cooldown_time: num.optional(),
  disable_cooldowns: bool.optional(),
}

export const litellmSettingsSchema = z.object({
  ...sharedRouterKeys,
  request_timeout: num.optional(),
  drop_params: bool.optional(),
  modify_params: bool.optional(),
  cache: bool.optional(),
  cache_params: z.record(z.string(), anything).optional(),
  callbacks: anything.optional(),
  success_callback: anything.optional(),
  failure_callback: anything.optional(),
  service_callbacks: anything.optional(),
  callback_settings: anything.optional(),
  set_verbose: bool.optional(),
  json_logs: bool.optional(),
  turn_off_message_logging: bool.optional(),
  redact_user_api_key_info: bool.optional(),
  max_budget: num.optional(),
  budget_duration: text.optional(),
  max_end_user_budget: num.optional(),
  max_internal_user_budget: num.optional(),
  internal_user_budget_duration: text.optional(),
  default_key_generate_params: anything.optional(),
  upperbound_key_generate_params: anything.optional(),
  key_generation_settings: anything.optional(),
  default_team_settings: anything.optional(),
  default_internal_user_params: anything.optional(),
  enable_key_alias_format_validation: bool.optional(),
  disable_end_user_cost_tracking: bool.optional(),
  timezone: text.optional(),
  force_ipv4: bool.optional(),
  telemetry: bool.optional(),
  ssl_verify: anything.optional(),
  guardrails: anything.optional(),
  enable_preview_features: bool.optional(),
})

export const routerSettingsSchema = z.object({
  ...sharedRouterKeys,
  // Any text: an unknown strategy is a warning (routing falls back to simple-shuffle), not an error.
  routing_strategy: text.optional(),
  routing_strategy_args: z.record(z.string(), anything).optional(),
  redis_host: text.optional(),
  redis_port: num.optional(),
  redis_password: text.optional(),
  redis_db: num.optional(),
  redis_url: text.optional(),
  retry_after: num.optional(),
  timeout: num.optional(),
  stream_timeout: num.optional(),
  retry_policy: z.record(z.string(), num).optional(),
  allowed_fails_policy: z.record(z.string(), num).optional(),
  enable_pre_call_checks: bool.optional(),
  optional_pre_call_checks: texts.optional(),
  max_fallbacks: num.optional(),
  model_group_alias: z.record(z.string(), anything).optional(),
  default_max_parallel_requests: num.optional(),
  client_ttl: num.optional(),
  cache_responses: bool.optional(),
  caching_groups: anything.optional(),
  provider_budget_config: anything.optional(),
  enable_tag_filtering: bool.optional(),
  set_verbose: bool.optional(),
  debug_level: text.optional(),
})

export const generalSettingsSchema = z.object({
  master_key: text.optional(),
  database_url: text.optional(),
  database_connection_pool_limit: num.optional(),
  database_connection_timeout: num.optional(),
  store_model_in_db: bool.optional(),
  proxy_batch_write_at: num.optional(),
  use_redis_transaction_buffer: bool.optional(),
  disable_spend_logs: bool.optional(),
  disable_error_logs: bool.optional(),
  disable_spend_updates: bool.optional(),
  store_prompts_in_spend_logs: bool.optional(),
  maximum_spend_logs_retention_period: text.optional(),
  maximum_spend_logs_retention_interval: text.optional(),
  alerting: texts.optional(),
  alerting_threshold: num.optional(),
  alert_types: texts.optional(),
  alerting_args: anything.optional(),
  spend_report_frequency: text.optional(),
  proxy_budget_rescheduler_min_time: num.optional(),
  proxy_budget_rescheduler_max_time: num.optional(),
  allow_requests_on_db_unavailable: bool.optional(),
  background_health_checks: bool.optional(),
  health_check_interval: num.optional(),
  health_check_details: bool.optional(),
  max_parallel_requests: num.optional(),
  global_max_parallel_requests: num.optional(),
  enforce_user_param: bool.optional(),
  enforced_params: texts.optional(),
  allowed_routes: texts.optional(),
  public_routes: texts.optional(),
  allowed_ips: texts.optional(),
  use_x_forwarded_for: bool.optional(),
  litellm_key_header_name: text.optional(),
  custom_auth: text.optional(),
  enable_jwt_auth: bool.optional(),
  allow_client_side_credentials: bool.optional(),
  user_api_key_cache_ttl: num.optional(),
  max_request_size_mb: num.optional(),
  max_response_size_mb: num.optional(),
  token_rate_limit_type: z.enum(['total', 'input', 'output']).optional(),
  forward_client_headers_to_llm_api: bool.optional(),
  disable_master_key_return: bool.optional(),
  disable_adding_master_key_hash_to_db: bool.optional(),
  disable_reset_budget: bool.optional(),
  // MultiLLM: answer 503 instead of limiting per instance when the shared counters are unreachable.
  rate_limit_fail_closed: bool.optional(),
  ui_access_mode: anything.optional(),
  disable_retry_on_max_parallel_request_limit_error: bool.optional(),
  completion_model: text.optional(),
  infer_model_from_keys: bool.optional(),
  disable_prisma_schema_update: bool.optional(),
  key_management_system: text.optional(),
  key_management_settings: anything.optional(),
  pass_through_endpoints: anything.optional(),
})

/** LiteLLM exports each value into os.environ with `str(value)`, so scalars become Python strings. */
export const environmentVariablesSchema = z.record(
  z.string(),
  z.preprocess((v) => (['number', 'bigint', 'boolean'].includes(typeof v) ? pythonStr(v) : v), z.string()),
)

export const configSchema = z.object({
  model_list: z.array(modelEntrySchema).optional(),
  litellm_settings: litellmSettingsSchema.optional(),
  router_settings: routerSettingsSchema.optional(),
  general_settings: generalSettingsSchema.optional(),
  environment_variables: environmentVariablesSchema.optional(),
  credential_list: anything.optional(),
  include: anything.optional(),
})

export type ModelEntry = z.output<typeof modelEntrySchema>

/** Top-level sections we accept but do not act on yet; loading continues without them. */
const UNSUPPORTED_SECTIONS: Record<string, string> = {
  credential_list: 'credential_list is not supported yet; put credentials in litellm_params, ignored',
  include: 'include is not supported yet; merge the included files into this one, ignored',
}

/** Warnings for keys the schemas do not know, with their YAML paths. */
export function unknownKeyWarnings(raw: Record<string, unknown>): ConfigWarning[] {
  const warnings = keysOutside(raw, configSchema.shape, '')
  for (const [key, message] of Object.entries(UNSUPPORTED_SECTIONS)) {
    if (raw[key] !== undefined && raw[key] !== null) warnings.push({ path: key, message })
  }
  const sections = [
    ['litellm_settings', litellmSettingsSchema.shape],
    ['router_settings', routerSettingsSchema.shape],
    ['general_settings', generalSettingsSchema.shape],
  ] as const
  for (const [section, shape] of sections) warnings.push(...keysOutside(raw[section], shape, section))
  const strategy = isPlainObject(raw.router_settings) ? raw.router_settings.routing_strategy : undefined
  if (typeof strategy === 'string' && !(ROUTING_STRATEGIES as readonly string[]).includes(strategy)) {
    warnings.push({
      path: 'router_settings.routing_strategy',
      message: `unknown routing strategy ${JSON.stringify(strategy)}; using simple-shuffle (known: ${ROUTING_STRATEGIES.join(', ')})`,
    })
  }
  const models = raw.model_list
  if (Array.isArray(models)) {
    models.forEach((entry, index) => {
      const path = childPath('model_list', index)
      warnings.push(...keysOutside(entry, modelEntrySchema.shape, path))
      const params = isPlainObject(entry) ? entry.litellm_params : undefined
      if (isPlainObject(params) && params.litellm_credential_name !== undefined) {
        const message =
          'credentials from credential_list are not supported yet; the deployment gets none from it'
        warnings.push({ path: `${path}.litellm_params.litellm_credential_name`, message })
      }
    })
  }
  return warnings
}

function keysOutside(value: unknown, shape: object, path: string): ConfigWarning[] {
  if (!isPlainObject(value)) return []
  return Object.keys(value)
    .filter((key) => !Object.hasOwn(shape, key))
    .map((key) => ({ path: childPath(path, key), message: 'unknown key, ignored' }))
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true/false)',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
}

/**
 * The problem text for one zod issue, worded for someone editing YAML (`required`,
 * `expected a number, got "three"`). `describe` renders the offending value; the parser hides
 * values that came from `os.environ/` so secrets do not end up in logs.
 */
export function issueMessage(
  issue: z.core.$ZodRawIssue,
  describe: (value: unknown) => string,
): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required'
    return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ')
    return `expected one of ${allowed}, got ${describe(issue.input)}`
  }
  return undefined
}

/** A short, YAML-ish description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (Array.isArray(value)) return 'a list'
  if (isPlainObject(value)) return 'a mapping'
  if (value === null) return 'null'
  return String(value)
}
