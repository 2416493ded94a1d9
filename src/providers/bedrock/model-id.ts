import { GatewayError } from '../../errors'
import type { Deployment } from '../types'

/**
 * Route markers LiteLLM reads after `bedrock/` (`BedrockModelInfo.get_bedrock_route`) that still mean
 * Converse: `converse/` forces it and `nova/` (Nova custom models) is routed to it. Neither is part of
 * the Bedrock model id.
 */
const CONVERSE_ROUTES = new Set(['converse', 'nova'])

/** The `<route>` of `<route>/<id>`; model ids have no `/` outside ARNs, which start with `arn:`. */
const leadingRoute = (model: string): string | undefined => {
  const slash = model.indexOf('/')
  return slash < 0 || model.startsWith('arn:') ? undefined : model.slice(0, slash)
}

/**
 * The model as configured, without the `bedrock/` provider and a Converse route marker. Any other
 * leading `<route>/` (`invoke/`, `converse_like/`, `agent/`, `agentcore/`, `async_invoke/`, `openai/`,
 * and the Invoke-only imported-model specs `llama/`, `deepseek_r1/`, `qwen3/` …) selects a LiteLLM
 * route with a different request body or API that this gateway does not speak; sending Converse to
 * `invoke/anthropic…` would call a model id that does not exist, so those fail as a config error.
 */
export function bedrockBaseModel(deployment: Deployment): string {
  let model = deployment.providerModel.trim()
  let route = leadingRoute(model)
  if (route !== undefined && CONVERSE_ROUTES.has(route)) {
    model = model.slice(route.length + 1)
    // `converse/invoke/…` is not a Converse model id either.
    route = leadingRoute(model)
  }
  if (route === undefined) return model
  throw new GatewayError({
    status: 400,
    message:
      `Bedrock route '${route}/' (model=${deployment.params.model}) is not supported by this gateway yet; ` +
      'use bedrock/<model id> or bedrock/converse/<model id>.',
    origin: 'gateway',
    retryable: false,
  })
}

/**
 * The model id Bedrock is called with. `litellm_params.model_id` (a provisioned-throughput, custom or
 * imported model ARN) replaces it, as in LiteLLM, while `model` still names the base model and the
 * route (so an unsupported route is rejected even with an override).
 */
export function bedrockModelId(deployment: Deployment): string {
  const base = bedrockBaseModel(deployment)
  const override = deployment.params.model_id
  if (typeof override === 'string' && override.trim() !== '') return override.trim()
  return base
}
