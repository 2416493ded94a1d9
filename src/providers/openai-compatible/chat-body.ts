import { badRequest } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type { Deployment } from '../types'
import { CLIENT_CREDENTIAL_FIELDS, DEPLOYMENT_DEFAULT_PARAMS, isGatewayOnlyField } from './gateway-fields'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export interface ChatBodyOptions {
  stream: boolean
  /** LiteLLM's `drop_params`: drop `n > 1` (the gateway answers one choice) instead of a 400. */
  dropParams: boolean
}

/** 400 for credential params in a request body (why: see CLIENT_CREDENTIAL_FIELDS). */
export function refuseClientCredentials(body: Readonly<Json>): void {
  for (const name of CLIENT_CREDENTIAL_FIELDS) {
    if (body[name] !== undefined) {
      // LiteLLM's wording (auth_utils.is_request_body_safe), without its opt-in that this gateway lacks.
      throw badRequest(
        `Rejected Request: ${name} is not allowed in request body. The gateway calls each deployment with the credentials in its config.`,
        name,
      )
    }
  }
}

/** The deployment's defaults: allowed `litellm_params`, then its `extra_body` on top. */
function deploymentDefaults(deployment: Deployment): Json {
  const defaults: Json = {}
  for (const name of DEPLOYMENT_DEFAULT_PARAMS) {
    const value = deployment.params[name]
    if (value !== undefined && value !== null) defaults[name] = value
  }
  const extra = deployment.params.extra_body
  return isObject(extra) ? { ...defaults, ...extra } : defaults
}

/**
 * Anthropic-style `thinking: {type: "enabled", budget_tokens}` as OpenAI's `reasoning_effort`, with
 * LiteLLM's thresholds (its hosted_vllm mapping), unless the request sets `reasoning_effort` itself.
 * OpenAI-compatible servers know no `thinking` parameter, so it is never sent as such.
 */
export function reasoningEffortFor(thinking: unknown): string | undefined {
  if (!isObject(thinking) || thinking.type !== 'enabled') return undefined
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0
  if (budget >= 10000) return 'high'
  if (budget >= 5000) return 'medium'
  if (budget >= 2000) return 'low'
  return 'minimal'
}

/**
 * Messages without `thinking_blocks`: LiteLLM's field for Anthropic thinking, which a client echoes
 * back after a Bedrock answer (in a mixed group the next turn may land here) and OpenAI refuses.
 */
function withoutThinkingBlocks(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages
  return messages.map((message) => {
    if (!isObject(message) || !('thinking_blocks' in message)) return message
    const { thinking_blocks: _dropped, ...rest } = message
    return rest
  })
}

/** `additional_drop_params` (litellm_params): names the operator wants never sent to this deployment. */
export function droppedByDeployment(deployment: Deployment): string[] {
  const names = deployment.params.additional_drop_params
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : []
}

/**
 * The request in OpenAI form for the upstream: gateway-only fields stripped, the deployment's defaults
 * under the request's own values, `model` replaced by the deployment's model.
 *
 * Streams always ask for `stream_options.include_usage`: the usage chunk is what spend and token rate
 * limits are settled from. Whether the client sees it is the HTTP layer's decision (it emits the usage
 * chunk only when the client asked for it, as OpenAI does).
 */
export function toUpstreamChatBody(
  request: ChatRequest,
  deployment: Deployment,
  options: ChatBodyOptions,
): Json {
  refuseClientCredentials(request)
  const body: Json = deploymentDefaults(deployment)
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined || isGatewayOnlyField(name)) continue
    if (name === 'extra_body' && isObject(value)) Object.assign(body, value)
    else body[name] = value
  }
  // extra_body may not smuggle what the request itself may not carry.
  refuseClientCredentials(body)
  for (const name of Object.keys(body)) if (isGatewayOnlyField(name)) delete body[name]
  for (const name of droppedByDeployment(deployment)) delete body[name]

  if ('thinking' in body) {
    const effort = reasoningEffortFor(body.thinking)
    if (effort !== undefined && (body.reasoning_effort === undefined || body.reasoning_effort === null))
      body.reasoning_effort = effort
    delete body.thinking
  }
  body.messages = withoutThinkingBlocks(body.messages)

  if (typeof body.n === 'number' && body.n > 1) {
    if (!options.dropParams) {
      throw badRequest(
        `litellm.UnsupportedParamsError: ${deployment.provider} deployments answer one choice through this gateway; n=${body.n} is not supported. ` +
          'To drop it, set drop_params: true (litellm_settings, the deployment or the request).',
        'n',
      )
    }
    delete body.n
  }

  body.model = deployment.providerModel
  if (options.stream) {
    body.stream = true
    body.stream_options = {
      ...(isObject(body.stream_options) ? body.stream_options : {}),
      include_usage: true,
    }
  } else {
    // OpenAI refuses stream_options on a non-streaming call.
    delete body.stream
    delete body.stream_options
  }
  return body
}
