import type { FinishReason } from '../../openai/chat-response'

const KNOWN: ReadonlySet<string> = new Set([
  'stop',
  'length',
  'tool_calls',
  'content_filter',
  'function_call',
])

/**
 * Other servers' words for the same endings, as LiteLLM's `map_finish_reason` folds them
 * (TGI's `eos_token`, Anthropic-style `end_turn` / `max_tokens` / `tool_use` from proxies).
 */
const ALIASES: Record<string, FinishReason> = {
  eos: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  end_turn: 'stop',
  max_tokens: 'length',
  model_length: 'length',
  tool_use: 'tool_calls',
}

/**
 * The OpenAI finish reason for an upstream value. `null`/absent happens on servers that only report it
 * on the final chunk or not at all: tool calls imply `tool_calls`, anything else ended normally.
 */
export function toFinishReason(value: unknown, hasToolCalls: boolean): FinishReason {
  if (typeof value === 'string') {
    if (KNOWN.has(value)) return value as FinishReason
    const alias = ALIASES[value]
    if (alias) return alias
  }
  return hasToolCalls ? 'tool_calls' : 'stop'
}

/** Only the values a stream should forward; unknown strings still end the stream as `stop`. */
export function streamFinishReason(value: unknown, sawToolCalls: boolean): FinishReason | undefined {
  if (value === null || value === undefined || value === '') return undefined
  return toFinishReason(value, sawToolCalls)
}
