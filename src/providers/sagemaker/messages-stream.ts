import type { ChatMessage } from '../../openai/chat-request'
import type { ChatDelta } from '../types'
import { containerStreamError, sagemakerBadReply } from './errors'
import { mapFinishReason, mapUsage, messagesApiOutput, toolCallDeltas } from './messages-response'
import type { PayloadEvent } from './payload-lines'

/**
 * A Messages-API container's stream (`data: {"object": "chat.completion.chunk", …}` … `data: [DONE]`)
 * → ChatDelta: content, reasoning, tool-call pieces (forwarded as they arrive), the finish reason and
 * the usage chunk. A container that ignored `"stream": true` and sent one whole `chat.completion` is
 * turned into deltas too. `[DONE]` is optional (protocols.md 3.5), but a stream with neither it nor
 * a finish reason was cut off.
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function chunkDelta(value: Record<string, unknown>): ChatDelta {
  const out: ChatDelta = {}
  const choice = Array.isArray(value.choices) ? value.choices[0] : undefined
  if (isRecord(choice)) {
    const delta = isRecord(choice.delta) ? choice.delta : {}
    if (typeof delta.content === 'string' && delta.content !== '') out.content = delta.content
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
      out.reasoningContent = delta.reasoning_content
    }
    const calls = toolCallDeltas(delta.tool_calls)
    if (calls.length > 0) out.toolCalls = calls
    if (typeof choice.finish_reason === 'string') out.finishReason = mapFinishReason(choice.finish_reason)
  }
  const usage = mapUsage(value.usage)
  if (usage) out.usage = usage
  return out
}

function wholeAnswer(value: Record<string, unknown>, messages: readonly ChatMessage[]): ChatDelta {
  const output = messagesApiOutput(value, messages)
  const calls = output.message.tool_calls ?? []
  return {
    ...(output.message.content ? { content: output.message.content } : {}),
    ...(output.message.reasoning_content ? { reasoningContent: output.message.reasoning_content } : {}),
    ...(calls.length > 0
      ? {
          toolCalls: calls.map((call, index) => ({
            index,
            id: call.id,
            type: call.type,
            function: call.function,
          })),
        }
      : {}),
    finishReason: output.finishReason,
    usage: output.usage,
  }
}

const isEmpty = (delta: ChatDelta): boolean => Object.keys(delta).length === 0

export async function* messagesStreamDeltas(
  events: AsyncIterable<PayloadEvent>,
  messages: readonly ChatMessage[],
): AsyncGenerator<ChatDelta> {
  let finished = false
  for await (const event of events) {
    if (event.kind === 'done') {
      finished = true
      break
    }
    const error = containerStreamError(event.value)
    if (error) throw error
    if (!isRecord(event.value)) continue
    const delta =
      event.value.object === 'chat.completion' ? wholeAnswer(event.value, messages) : chunkDelta(event.value)
    if (delta.finishReason) finished = true
    if (!isEmpty(delta)) yield delta
  }
  if (!finished) throw sagemakerBadReply('the stream ended before a finish_reason or [DONE].')
}
