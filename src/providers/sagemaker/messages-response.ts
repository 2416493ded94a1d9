import type { ChatMessage } from '../../openai/chat-request'
import type { FinishReason, ToolCall, ToolCallDelta, Usage } from '../../openai/chat-response'
import { estimateStreamUsage } from '../../spend/usage-estimate'
import type { ChatOutput } from '../types'
import { sagemakerBadReply } from './errors'

/**
 * A Messages-API container's `chat.completion` (and its chunks' pieces) → the gateway's shapes.
 * The containers speak OpenAI's format with dialect differences this smooths over: TGI reports
 * `eos_token` / `stop_sequence` finish reasons and sends tool-call `arguments` as a JSON object
 * (OpenAI: a string), and its streamed `tool_calls` can be one object instead of a list.
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  end_turn: 'stop',
  length: 'length',
  max_tokens: 'length',
  tool_calls: 'tool_calls',
  tool_use: 'tool_calls',
  function_call: 'function_call',
  content_filter: 'content_filter',
}

/** LiteLLM's `map_finish_reason`; unknown reasons read as a normal stop. */
export function mapFinishReason(reason: unknown): FinishReason {
  return (typeof reason === 'string' ? FINISH_REASONS[reason] : undefined) ?? 'stop'
}

/** `arguments` as OpenAI's JSON string, whatever the container sent. */
export function argumentsText(args: unknown): string {
  if (typeof args === 'string') return args
  if (args === undefined || args === null) return ''
  return JSON.stringify(args)
}

function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('')
  }
  return null
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

/** OpenAI usage from the container; undefined when it sent none (or no counts in it). */
export function mapUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined
  const prompt = count(usage.prompt_tokens)
  const completion = count(usage.completion_tokens)
  if (prompt === undefined && completion === undefined) return undefined
  const mapped: Usage = {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion ?? 0,
    total_tokens: count(usage.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
  }
  const details = usage.prompt_tokens_details
  const cached = isRecord(details) ? count(details.cached_tokens) : undefined
  if (cached !== undefined) mapped.prompt_tokens_details = { cached_tokens: cached }
  return mapped
}

function toolCalls(value: unknown): ToolCall[] {
  const list = Array.isArray(value) ? value : isRecord(value) ? [value] : []
  return list.filter(isRecord).map((call, i) => {
    const fn = isRecord(call.function) ? call.function : {}
    const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${i}`
    return {
      id,
      type: 'function' as const,
      function: { name: typeof fn.name === 'string' ? fn.name : '', arguments: argumentsText(fn.arguments) },
    }
  })
}

/** Streamed tool-call pieces; `index` defaults to the position in the list. */
export function toolCallDeltas(value: unknown): ToolCallDelta[] {
  const list = Array.isArray(value) ? value : isRecord(value) ? [value] : []
  return list.filter(isRecord).map((call, i) => {
    const fn = isRecord(call.function) ? call.function : {}
    const delta: ToolCallDelta = {
      index: typeof call.index === 'number' ? call.index : i,
      function: { arguments: argumentsText(fn.arguments) },
    }
    if (typeof call.id === 'string' && call.id !== '') delta.id = call.id
    if (typeof fn.name === 'string' && fn.name !== '') {
      delta.function.name = fn.name
      delta.type = 'function'
    }
    return delta
  })
}

const outputChars = (text: string | null, calls: ToolCall[]): number =>
  (text?.length ?? 0) + calls.reduce((n, c) => n + c.function.name.length + c.function.arguments.length, 0)

/**
 * `chat.completion` → ChatOutput. Without usage from the container, the counts are the gateway's
 * estimate (4 characters per token of the messages and of the answer; spend/usage-estimate.ts).
 */
export function messagesApiOutput(json: unknown, messages: readonly ChatMessage[]): ChatOutput {
  const choice = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined
  const message = isRecord(choice) && isRecord(choice.message) ? choice.message : undefined
  if (!isRecord(choice) || message === undefined) {
    throw sagemakerBadReply(
      'the container answered without choices[0].message (is it a Messages-API container?).',
    )
  }
  const content = contentText(message.content)
  const calls = toolCalls(message.tool_calls)
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : undefined
  const usage =
    mapUsage(isRecord(json) ? json.usage : undefined) ??
    estimateStreamUsage(messages, outputChars(content, calls))
  return {
    message: {
      role: 'assistant',
      content: content === '' && calls.length > 0 ? null : content,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
      ...(reasoning !== undefined && reasoning !== '' ? { reasoning_content: reasoning } : {}),
    },
    finishReason:
      calls.length > 0 && choice.finish_reason === 'eos_token'
        ? 'tool_calls'
        : mapFinishReason(choice.finish_reason),
    usage,
  }
}
