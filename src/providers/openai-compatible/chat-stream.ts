import type { ToolCallDelta } from '../../openai/chat-response'
import type { ChatDelta } from '../types'
import { reasoningOf } from './chat-output'
import { badUpstreamAnswer, type ErrorContext, upstreamStreamError } from './errors'
import { streamFinishReason } from './finish-reason'
import type { SseEvent } from './sse-events'
import { toUsage } from './usage'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

function toToolCallDeltas(value: unknown): ToolCallDelta[] {
  if (!Array.isArray(value)) return []
  const deltas: ToolCallDelta[] = []
  value.forEach((item, position) => {
    if (!isObject(item)) return
    const fn = isObject(item.function) ? item.function : {}
    // Older vLLM releases leave out `index` on single tool calls; the position is what it means.
    const index = typeof item.index === 'number' ? item.index : position
    const delta: ToolCallDelta = { index, function: { arguments: str(fn.arguments) ?? '' } }
    const id = str(item.id)
    if (id !== undefined) delta.id = id
    if (item.type === 'function' || id !== undefined) delta.type = 'function'
    const name = str(fn.name)
    if (name !== undefined) delta.function.name = name
    deltas.push(delta)
  })
  return deltas
}

/** Tracks what the stream said so far, to tell a finished stream from a cut one. */
export interface StreamState {
  sawToolCalls: boolean
  finished: boolean
}

/**
 * One `chat.completion.chunk` as a ChatDelta, or undefined when it carries nothing (the role-only
 * first chunk, empty content, another choice's chunk). Only choice 0 is read: the gateway asks for
 * one choice. A chunk with `error` is a failure the server reports after the 200.
 */
export function chunkToDelta(
  chunk: unknown,
  state: StreamState,
  context: ErrorContext,
): ChatDelta | undefined {
  if (!isObject(chunk)) throw badUpstreamAnswer('a stream chunk is not a JSON object.', context)
  if (chunk.error !== undefined && chunk.error !== null) throw upstreamStreamError(chunk.error, context)
  const out: ChatDelta = {}
  const choices = Array.isArray(chunk.choices) ? chunk.choices : []
  const choice = choices.find((c) => isObject(c) && (c.index === undefined || c.index === 0))
  if (isObject(choice)) {
    const delta = isObject(choice.delta) ? choice.delta : {}
    const content = str(delta.content)
    if (content) out.content = content
    const reasoning = reasoningOf(delta)
    if (reasoning) out.reasoningContent = reasoning
    const toolCalls = toToolCallDeltas(delta.tool_calls)
    if (toolCalls.length > 0) {
      out.toolCalls = toolCalls
      state.sawToolCalls = true
    }
    const finish = streamFinishReason(choice.finish_reason, state.sawToolCalls)
    if (finish !== undefined) {
      out.finishReason = finish
      state.finished = true
    }
  }
  const usage = toUsage(chunk.usage)
  if (usage) out.usage = usage
  return Object.keys(out).length > 0 ? out : undefined
}

/**
 * ChatDeltas from an OpenAI SSE stream. Ends at `data: [DONE]`; a body that ends without it is
 * accepted only after a finish reason (a few servers omit `[DONE]`), otherwise the answer was cut
 * short and the stream fails rather than passing for complete.
 */
export async function* streamDeltas(
  events: AsyncIterable<SseEvent>,
  context: ErrorContext,
): AsyncGenerator<ChatDelta> {
  const state: StreamState = { sawToolCalls: false, finished: false }
  for await (const { event, data } of events) {
    if (data === '[DONE]') return
    let chunk: unknown
    try {
      chunk = JSON.parse(data)
    } catch {
      throw badUpstreamAnswer('a stream event is not valid JSON.', context)
    }
    // `event: error` (some OpenAI-compatible servers) carries the error object itself.
    if (event === 'error')
      throw upstreamStreamError(isObject(chunk) && 'error' in chunk ? chunk.error : chunk, context)
    const delta = chunkToDelta(chunk, state, context)
    if (delta) yield delta
  }
  if (!state.finished) throw badUpstreamAnswer('the stream ended before the answer was complete.', context)
}
