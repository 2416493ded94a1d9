import { badRequest } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type { LitellmParams } from '../types'
import type { ReasoningStyle } from './converse-model-traits'

/**
 * `reasoning_effort` and Anthropic's `thinking` → the model-specific request fields, as LiteLLM's
 * `AmazonConverseConfig.map_openai_params`:
 * - Claude 3.7 and later: `additionalModelRequestFields.thinking`. `reasoning_effort` becomes a budget
 *   (`AnthropicConfig._map_reasoning_effort`: minimal 128, low 1024, medium 2048, high 4096 tokens),
 *   raised to Bedrock's minimum of 1024 (`_clamp_thinking_budget_tokens`); an explicit `thinking`
 *   wins over `reasoning_effort`.
 * - Nova 2 Lite: `reasoningConfig: {type: "enabled", maxReasoningEffort}` (low, medium, high).
 * - gpt-oss: `reasoning_effort` as is.
 * `reasoning_effort: "none"` and `thinking: {type: "disabled"}` ask for nothing and send nothing.
 *
 * LiteLLM does not touch `temperature` or `top_p` when thinking is on (Claude then requires
 * temperature 1 and no top_p); neither does this, so Bedrock's 400 explains it.
 */

/** LiteLLM's DEFAULT_REASONING_EFFORT_*_THINKING_BUDGET. */
const EFFORT_BUDGETS: Record<string, number> = { minimal: 128, low: 1024, medium: 2048, high: 4096 }

/** Bedrock rejects a smaller budget (LiteLLM's BEDROCK_MIN_THINKING_BUDGET_TOKENS). */
export const MIN_THINKING_BUDGET = 1024

/** Added to the thinking budget when no max_tokens is set (LiteLLM's DEFAULT_MAX_TOKENS). */
export const THINKING_MAX_TOKENS_HEADROOM = 4096

const NOVA_EFFORTS = ['low', 'medium', 'high']

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export interface Reasoning {
  /** Members for additionalModelRequestFields. */
  fields: Record<string, unknown>
  /** An Anthropic `thinking` with `type: "enabled"` is sent: no forced tool choice then. */
  thinkingEnabled: boolean
  /** Its budget, for the max-tokens default. */
  budget?: number
  /** The parameter the model cannot take (→ UnsupportedParamsError unless drop_params). */
  unsupported?: 'thinking' | 'reasoning_effort'
}

/** What the caller asked for: the request wins over the deployment's `litellm_params` defaults. */
function asked(req: ChatRequest, params: LitellmParams) {
  const thinking = isRecord(req.thinking)
    ? req.thinking
    : isRecord(params.thinking)
      ? params.thinking
      : undefined
  const rawEffort = req.reasoning_effort ?? params.reasoning_effort
  const effort = typeof rawEffort === 'string' && rawEffort !== 'none' ? rawEffort : undefined
  return { thinking: thinking?.type === 'disabled' ? undefined : thinking, effort }
}

function invalidEffort(effort: string, allowed: string[]): never {
  throw badRequest(
    `Invalid reasoning_effort value '${effort}' for this model. Supported values: ${allowed.join(', ')} (or none).`,
    'reasoning_effort',
  )
}

function anthropicThinking(
  thinking: Record<string, unknown> | undefined,
  effort: string | undefined,
): Reasoning {
  let sent: Record<string, unknown>
  if (thinking !== undefined) {
    sent = { ...thinking }
  } else if (effort !== undefined) {
    const budget = EFFORT_BUDGETS[effort]
    if (budget === undefined) invalidEffort(effort, Object.keys(EFFORT_BUDGETS))
    sent = { type: 'enabled', budget_tokens: budget }
  } else {
    return { fields: {}, thinkingEnabled: false }
  }
  const budget =
    typeof sent.budget_tokens === 'number' ? Math.max(sent.budget_tokens, MIN_THINKING_BUDGET) : undefined
  if (budget !== undefined) sent.budget_tokens = budget
  const thinkingEnabled = sent.type === 'enabled'
  return {
    fields: { thinking: sent },
    thinkingEnabled,
    ...(thinkingEnabled && budget !== undefined ? { budget } : {}),
  }
}

export function reasoningFor(req: ChatRequest, params: LitellmParams, style: ReasoningStyle): Reasoning {
  const { thinking, effort } = asked(req, params)
  const none: Reasoning = { fields: {}, thinkingEnabled: false }
  switch (style) {
    case 'anthropic-thinking':
      return anthropicThinking(thinking, effort)
    case 'nova-reasoning-config':
      if (thinking !== undefined) return { ...none, unsupported: 'thinking' }
      if (effort === undefined) return none
      if (!NOVA_EFFORTS.includes(effort)) invalidEffort(effort, NOVA_EFFORTS)
      return { ...none, fields: { reasoningConfig: { type: 'enabled', maxReasoningEffort: effort } } }
    case 'reasoning-effort':
      if (thinking !== undefined) return { ...none, unsupported: 'thinking' }
      return effort === undefined ? none : { ...none, fields: { reasoning_effort: effort } }
    case 'none':
      if (thinking !== undefined) return { ...none, unsupported: 'thinking' }
      return effort === undefined ? none : { ...none, unsupported: 'reasoning_effort' }
  }
}
