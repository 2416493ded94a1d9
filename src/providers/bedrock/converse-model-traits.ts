import { bareModelId, stripCrossRegionPrefix } from '../../spend/prices'
import type { Deployment } from '../types'
import { bedrockBaseModel } from './model-id'

/**
 * What a Bedrock model can do, decided on its base model id: the cross-region prefix (`us.`, `eu.`,
 * `apac.`, `global.`, `jp.`, `au.`, `us-gov.`) and any ARN wrapper are stripped first, as LiteLLM's
 * `BedrockModelInfo.get_base_model` does; the full id is still what is called.
 *
 * An ARN hides the model (application inference profiles and provisioned throughput end in an opaque
 * id), so `model_info.base_model` (or `litellm_params.base_model`) names it, as for pricing. Without
 * one the model is unknown and every feature is allowed, as LiteLLM allows every parameter for an
 * ARN: Bedrock itself then rejects what the model cannot do.
 */

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** `anthropic.claude-3-haiku-…` for any spelling of the model; undefined when an ARN hides it. */
function baseIdOf(model: string): string | undefined {
  const bare = stripCrossRegionPrefix(bareModelId(model))
  // What is left of a provisioned-model or application-profile ARN is an opaque id without a dot.
  return bare.startsWith('arn:') || !bare.includes('.') ? undefined : bare
}

/** The base model id capabilities are decided on, or undefined when the deployment does not say. */
export function traitsModel(deployment: Deployment): string | undefined {
  const configured = bedrockBaseModel(deployment)
  const named = text(deployment.modelInfo.base_model) ?? text(deployment.params.base_model)
  if (configured.startsWith('arn:') && named !== undefined) return baseIdOf(named)
  return baseIdOf(configured)
}

/** How a model takes a reasoning request (LiteLLM's `_handle_reasoning_effort_parameter`). */
export type ReasoningStyle =
  /** Anthropic `thinking: {type, budget_tokens}` in additionalModelRequestFields (Claude 3.7 and later). */
  | 'anthropic-thinking'
  /** Nova 2 `reasoningConfig: {type: "enabled", maxReasoningEffort}`. */
  | 'nova-reasoning-config'
  /** OpenAI gpt-oss: `reasoning_effort` passed through as is. */
  | 'reasoning-effort'
  | 'none'

export interface ModelTraits {
  /** The base model id, undefined when unknown (an ARN without `base_model`). */
  model: string | undefined
  /** Accepts `toolConfig` at all (used for the response_format emulation). */
  tools: boolean
  /** Accepts a forced `toolChoice` (`any` / `tool`). */
  forcedToolChoice: boolean
  reasoning: ReasoningStyle
  /** Takes a `ttl` on cache points (LiteLLM's `is_claude_4_5_on_bedrock`: Claude 4.5 and later). */
  cacheTtl: boolean
}

/**
 * Families Converse answers without tool support (AWS "Supported models and model features"):
 * Titan Text, Llama 2 and 3.0, Mistral 7B / Mixtral, Cohere Command (not R), AI21 Jurassic,
 * DeepSeek-R1 and the Claude 2 / Instant generation.
 */
const NO_TOOLS =
  /^(amazon\.titan-text|meta\.llama2|meta\.llama3-(8b|70b)-instruct|mistral\.(mistral-7b|mixtral-8x7b)|cohere\.command-(text|light)|ai21\.j2|deepseek\.r1|anthropic\.claude-(v\d|instant))/

/** Families whose `toolChoice` may force a tool (AWS ToolChoice: Anthropic Claude 3+, Mistral Large/Small, Nova). */
const FORCED_TOOL_CHOICE = /^(anthropic\.claude-|amazon\.nova|mistral\.(mistral-large|mistral-small|pixtral))/

/** Claude generations before extended thinking (3.0, 3.5, 2.x, Instant). */
const CLAUDE_WITHOUT_THINKING = /^anthropic\.claude-(instant|v\d|3-(haiku|sonnet|opus)|3-5-)/

/** Claude generations before Claude 4.5 (no cache-point ttl). */
const CLAUDE_BEFORE_4_5 = /^anthropic\.claude-(instant|v\d|3-|(sonnet|opus)-4-(\d{8}|1-))/

function reasoningStyle(model: string): ReasoningStyle {
  if (model.startsWith('anthropic.claude-'))
    return CLAUDE_WITHOUT_THINKING.test(model) ? 'none' : 'anthropic-thinking'
  if (model.includes('nova-2-lite')) return 'nova-reasoning-config'
  if (model.includes('gpt-oss')) return 'reasoning-effort'
  return 'none'
}

export function modelTraits(deployment: Deployment): ModelTraits {
  const model = traitsModel(deployment)
  if (model === undefined) {
    return { model, tools: true, forcedToolChoice: true, reasoning: 'anthropic-thinking', cacheTtl: false }
  }
  return {
    model,
    tools: !NO_TOOLS.test(model),
    forcedToolChoice: FORCED_TOOL_CHOICE.test(model) && !NO_TOOLS.test(model),
    reasoning: reasoningStyle(model),
    cacheTtl: model.startsWith('anthropic.claude-') && !CLAUDE_BEFORE_4_5.test(model),
  }
}
