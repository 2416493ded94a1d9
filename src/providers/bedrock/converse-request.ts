import type { Logger } from '../../observability/logger'
import type { ChatRequest, Tool, ToolChoice } from '../../openai/chat-request'
import type { Deployment, LitellmParams } from '../types'
import { appendCachePoint, cachePointFor } from './converse-cache-points'
import {
  JSON_TOOL_NAME,
  type JsonMode,
  jsonModeOf,
  jsonTool,
  knownResponseFormat,
} from './converse-json-mode'
import { toConverseConversation } from './converse-messages'
import { type ModelTraits, modelTraits } from './converse-model-traits'
import { converseBlocks, providerSpecificFields } from './converse-passthrough'
import { type Reasoning, reasoningFor, THINKING_MAX_TOKENS_HEADROOM } from './converse-reasoning'
import type { ConverseMessage, ConverseRequest, InferenceConfig, ToolConfig } from './converse-types'
import { unsupportedParamsError } from './unsupported-params'

/**
 * OpenAI chat request → Bedrock Converse body, following LiteLLM's `AmazonConverseConfig`
 * without `modify_params` (we reject what we would have to invent); messages: converse-messages.ts.
 */

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

function stopSequences(stop: unknown): string[] | undefined {
  const list = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []
  const kept = list.filter((s): s is string => typeof s === 'string' && s !== '')
  return kept.length > 0 ? kept : undefined
}

/** Request values win over the deployment's `litellm_params` defaults. */
export function inferenceConfig(req: ChatRequest, params: LitellmParams): InferenceConfig | undefined {
  const config: InferenceConfig = {}
  const maxTokens =
    num(req.max_completion_tokens) ??
    num(req.max_tokens) ??
    num(params.max_completion_tokens) ??
    num(params.max_tokens)
  if (maxTokens !== undefined) config.maxTokens = maxTokens
  const temperature = num(req.temperature) ?? num(params.temperature)
  if (temperature !== undefined) config.temperature = temperature
  const topP = num(req.top_p) ?? num(params.top_p)
  if (topP !== undefined) config.topP = topP
  const stop = stopSequences(req.stop ?? params.stop)
  if (stop !== undefined) config.stopSequences = stop
  return Object.keys(config).length > 0 ? config : undefined
}

function toolChoice(choice: ToolChoice): ToolConfig['toolChoice'] {
  if (choice === 'auto') return { auto: {} }
  if (choice === 'required') return { any: {} }
  if (typeof choice === 'object') return { tool: { name: choice.function.name } }
  return undefined
}

const usesTools = (turns: ConverseMessage[]): boolean =>
  turns.some((turn) => turn.content.some((block) => 'toolUse' in block || 'toolResult' in block))

/** What the request mapping adds to the caller's tools. */
export interface ToolExtras {
  /** response_format's schema tool (JSON mode). */
  jsonMode?: JsonMode
  /** The JSON tool may be forced (the model takes a forced tool choice and thinking is off). */
  forceJsonTool?: boolean
  /** Extended thinking is on: Claude then rejects a forced tool choice, which becomes `auto` (LiteLLM does the same). */
  thinking?: boolean
  /** Cache points after tools marked with `cache_control` (Converse only). */
  cachePoints?: boolean
}

function toolSpecs(tools: Tool[], cachePoints: boolean): ToolConfig['tools'] {
  const specs: ToolConfig['tools'] = []
  for (const tool of tools) {
    specs.push({
      toolSpec: {
        name: tool.function.name,
        // Bedrock rejects an empty description (min length 1).
        ...(tool.function.description ? { description: tool.function.description } : {}),
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
      },
    })
    if (cachePoints) appendCachePoint(specs, cachePointFor(tool, false))
  }
  return specs
}

/**
 * Bedrock has no `none` tool choice, so `none` omits the caller's tools – unless the history holds
 * tool blocks, which Bedrock rejects without a toolConfig; then the tools go without a choice (what
 * LiteLLM sends once `drop_params` drops `tool_choice`). JSON mode adds its tool after the caller's
 * and forces it when it may.
 */
export function toolConfig(
  tools: Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  turns: ConverseMessage[],
  extras: ToolExtras = {},
): ToolConfig | undefined {
  const keepsCallerTools = choice !== 'none' || usesTools(turns)
  const all = [...(keepsCallerTools ? (tools ?? []) : [])]
  if (extras.jsonMode) all.push(jsonTool(extras.jsonMode))
  if (all.length === 0) return undefined
  let mapped = choice ? toolChoice(choice) : undefined
  if (extras.jsonMode && extras.forceJsonTool && !extras.thinking) mapped = { tool: { name: JSON_TOOL_NAME } }
  if (extras.thinking && mapped !== undefined && !('auto' in mapped)) mapped = { auto: {} }
  const specs = toolSpecs(all, extras.cachePoints === true)
  return mapped ? { tools: specs, toolChoice: mapped } : { tools: specs }
}

/**
 * OpenAI parameters Converse cannot honour. LiteLLM's `AmazonConverseConfig.get_supported_openai_params`
 * omits them, so `get_optional_params` raises UnsupportedParamsError (400) unless `drop_params`. A
 * parameter only counts when set (LiteLLM compares against `None` defaults); `n: 1`, `logprobs: false`
 * and `response_format: {type: 'text'}` ask for nothing Converse does not already do. JSON
 * response formats are emulated with a tool, so they count only for a model without tool use (other
 * types, such as vLLM's, always count); reasoning parameters count for a model that cannot reason.
 */
function unsupportedParams(req: ChatRequest, traits: ModelTraits, reasoning: Reasoning): string[] {
  const set = (name: string): boolean => req[name] !== undefined && req[name] !== null
  const found: string[] = []
  if (typeof req.n === 'number' && req.n > 1) found.push('n')
  if (!knownResponseFormat(req) || (!traits.tools && jsonModeOf(req) !== undefined))
    found.push('response_format')
  if (reasoning.unsupported !== undefined) found.push(reasoning.unsupported)
  for (const name of ['seed', 'presence_penalty', 'frequency_penalty', 'logit_bias']) {
    if (set(name)) found.push(name)
  }
  if (req.logprobs === true) found.push('logprobs')
  if (set('top_logprobs')) found.push('top_logprobs')
  return found
}

/**
 * `top_k` goes where the model family reads it (LiteLLM's `_handle_top_k_value`): Nova takes it as
 * `inferenceConfig.topK` inside the model-specific fields, Anthropic and the others as `top_k`.
 */
function topKField(topK: number, model: string | undefined): Record<string, unknown> {
  return model?.startsWith('amazon.nova') ? { inferenceConfig: { topK } } : { top_k: topK }
}

/**
 * `additionalModelRequestFields`: unknown request members (LiteLLM forwards them as model-specific
 * parameters), then `top_k` and the reasoning fields, which win.
 */
function additionalFields(
  req: ChatRequest,
  params: LitellmParams,
  traits: ModelTraits,
  reasoning: Reasoning,
): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = { ...providerSpecificFields(req, params) }
  const topK = num(req.top_k) ?? num(params.top_k)
  if (topK !== undefined) Object.assign(fields, topKField(topK, traits.model))
  Object.assign(fields, reasoning.fields)
  return Object.keys(fields).length > 0 ? fields : undefined
}

export interface ConverseRequestOptions {
  /** LiteLLM's `drop_params`: ignore unsupported OpenAI parameters instead of answering 400. */
  dropParams: boolean
  /** Where request members the deployment overrides (its guardrail) are noted. */
  logger?: Pick<Logger, 'debug'>
}

export function toConverseRequest(
  req: ChatRequest,
  deployment: Deployment,
  options: ConverseRequestOptions,
): ConverseRequest {
  const traits = modelTraits(deployment)
  const asked = reasoningFor(req, deployment.params, traits.reasoning)
  const unsupported = options.dropParams ? [] : unsupportedParams(req, traits, asked)
  if (unsupported.length > 0) throw unsupportedParamsError(unsupported, deployment)
  // With drop_params an unsupported reasoning parameter is simply not sent (its fields are empty).
  const reasoning = asked
  const jsonMode = traits.tools ? jsonModeOf(req) : undefined
  const { system, turns } = toConverseConversation(req.messages, traits.cacheTtl)
  const body: ConverseRequest = { messages: turns }
  if (system.length > 0) body.system = system
  let inference = inferenceConfig(req, deployment.params)
  if (reasoning.budget !== undefined && inference?.maxTokens === undefined) {
    // Claude requires max_tokens above the thinking budget; LiteLLM adds its default on top.
    inference = { ...inference, maxTokens: reasoning.budget + THINKING_MAX_TOKENS_HEADROOM }
  }
  if (inference) body.inferenceConfig = inference
  const tools = toolConfig(req.tools, req.tool_choice, turns, {
    jsonMode,
    forceJsonTool: traits.forcedToolChoice,
    thinking: reasoning.thinkingEnabled,
    cachePoints: true,
  })
  if (tools) body.toolConfig = tools
  const additional = additionalFields(req, deployment.params, traits, reasoning)
  if (additional) body.additionalModelRequestFields = additional
  Object.assign(body, converseBlocks(req, deployment.params, options.logger))
  return body
}
