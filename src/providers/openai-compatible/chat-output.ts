import type { ChatMessage } from '../../openai/chat-request'
import type { AssistantMessage, ToolCall } from '../../openai/chat-response'
import { estimateStreamUsage } from '../../spend/usage-estimate'
import type { ChatOutput } from '../types'
import { badUpstreamAnswer, type ErrorContext } from './errors'
import { toFinishReason } from './finish-reason'
import { toUsage } from './usage'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** Arguments are a JSON string in OpenAI's format; a server that sends an object gets it serialised. */
function argumentsText(value: unknown): string {
  if (typeof value === 'string') return value
  return value === undefined || value === null ? '' : JSON.stringify(value)
}

function toToolCalls(value: unknown): ToolCall[] {
  if (!Array.isArray(value)) return []
  const calls: ToolCall[] = []
  for (const item of value) {
    if (!isObject(item) || !isObject(item.function)) continue
    const name = str(item.function.name)
    if (name === undefined) continue
    calls.push({
      id: str(item.id) ?? `call_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`,
      type: 'function',
      function: { name, arguments: argumentsText(item.function.arguments) },
    })
  }
  return calls
}

/** vLLM reports reasoning as `reasoning_content` (older) or `reasoning` (newer); LiteLLM exposes the first name. */
export const reasoningOf = (value: Json): string | undefined =>
  str(value.reasoning_content) ?? str(value.reasoning)

/**
 * A `chat.completion` from the upstream as ChatOutput: the first choice (the gateway asks for one),
 * its content, tool calls and reasoning, the finish reason, usage (estimated from the text when the
 * server sends none, so spend is never silently 0), and the upstream's `model`, which LiteLLM reports.
 */
export function toChatOutput(
  json: unknown,
  messages: readonly ChatMessage[],
  context: ErrorContext,
): ChatOutput {
  if (!isObject(json) || !Array.isArray(json.choices)) {
    throw badUpstreamAnswer('the response is not a chat.completion (no choices).', context)
  }
  const choice = json.choices.find((c) => isObject(c) && (c.index === undefined || c.index === 0))
  if (!isObject(choice) || !isObject(choice.message)) {
    throw badUpstreamAnswer('the response has no message in its first choice.', context)
  }
  const upstream = choice.message
  const toolCalls = toToolCalls(upstream.tool_calls)
  const message: AssistantMessage = { role: 'assistant', content: str(upstream.content) ?? null }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  const reasoning = reasoningOf(upstream)
  if (reasoning !== undefined) message.reasoning_content = reasoning

  const outputChars =
    (message.content?.length ?? 0) +
    (reasoning?.length ?? 0) +
    toolCalls.reduce((n, c) => n + c.function.name.length + c.function.arguments.length, 0)
  const output: ChatOutput = {
    message,
    finishReason: toFinishReason(choice.finish_reason, toolCalls.length > 0),
    usage: toUsage(json.usage) ?? estimateStreamUsage(messages, outputChars),
  }
  const model = str(json.model)
  if (model !== undefined && model !== '') output.model = model
  return output
}
