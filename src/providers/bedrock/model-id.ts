import { GatewayError } from '../../errors'
import type { Deployment } from '../types'

/**
 * Which Bedrock Runtime API a chat deployment is called through. LiteLLM reads a route marker after
 * `bedrock/` (`BedrockModelInfo.get_bedrock_route`): `converse/` forces Converse, `nova/` (Nova
 * custom models) is routed to it, `invoke/` forces InvokeModel with the model family's native body.
 */
export type BedrockRoute = 'converse' | 'invoke'

const ROUTES: Record<string, BedrockRoute> = { converse: 'converse', nova: 'converse', invoke: 'invoke' }

/** The `<route>` of `<route>/<id>`; model ids have no `/` outside ARNs, which start with `arn:`. */
const leadingRoute = (model: string): string | undefined => {
  const slash = model.indexOf('/')
  return slash < 0 || model.startsWith('arn:') ? undefined : model.slice(0, slash)
}

interface RoutedModel {
  route: BedrockRoute
  /** The model without `bedrock/` and the route marker. */
  model: string
}

/**
 * Splits the route marker off. Without one the route is Converse: LiteLLM sends a model to Invoke
 * only when it is missing from its Converse list, and every Anthropic, Nova, Llama 3, Mistral and
 * Cohere Command R model is on that list; the older Invoke-only families answer Converse too. Any
 * other leading `<route>/` (`converse_like/`, `agent/`, `agentcore/`, `async_invoke/`, `openai/`, the
 * imported-model specs `llama/`, `deepseek_r1/`, `qwen3/` …) selects a request body or API this
 * gateway does not speak, and a marker left behind another (`converse/invoke/…`) is no model id:
 * both fail as a config error rather than calling a model id that does not exist.
 */
function routedModel(deployment: Deployment): RoutedModel {
  let model = deployment.providerModel.trim()
  let route: BedrockRoute = 'converse'
  let marker = leadingRoute(model)
  const known = marker === undefined ? undefined : ROUTES[marker]
  if (marker !== undefined && known !== undefined) {
    route = known
    model = model.slice(marker.length + 1)
    marker = leadingRoute(model)
  }
  if (marker === undefined) return { route, model }
  throw new GatewayError({
    status: 400,
    message:
      `Bedrock route '${marker}/' (model=${deployment.params.model}) is not supported by this gateway yet; ` +
      'use bedrock/<model id>, bedrock/converse/<model id> or bedrock/invoke/<model id>.',
    origin: 'gateway',
    retryable: false,
  })
}

/** The route a chat call takes (see `routedModel`). */
export const bedrockRoute = (deployment: Deployment): BedrockRoute => routedModel(deployment).route

/** The model as configured, without the `bedrock/` provider and a route marker. */
export function bedrockBaseModel(deployment: Deployment): string {
  return routedModel(deployment).model
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

/** Cross-region inference-profile prefixes (`us.anthropic…`); `us-gov.` does not start with `us.`. */
const PROFILE_PREFIX = /^(?:us|eu|apac|global|jp|au|ca|us-gov)\./

/**
 * The foundation model a configured id stands for, for choosing a body format: the last path part
 * of an ARN (foundation-model and inference-profile ARNs end in the model id) without a
 * cross-region prefix. `anthropic.claude-3-haiku-20240307-v1:0` for all of
 * `us.anthropic.claude-3-haiku…` and `arn:aws:bedrock:…:inference-profile/us.anthropic.claude-3-haiku…`.
 */
export function foundationModel(model: string): string {
  const id = model.startsWith('arn:') ? model.slice(model.lastIndexOf('/') + 1) : model
  return id.replace(PROFILE_PREFIX, '')
}
