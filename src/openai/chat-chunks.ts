import type { ChatDelta, ChatOutput } from '../providers/types'
import type { ChatCompletion, ChatCompletionChunk } from './chat-response'

/** Identity shared by every chunk of one response (OpenAI keeps id/created/model constant). */
export interface CompletionMeta {
  id: string
  created: number
  model: string
}

export function toChatCompletion(output: ChatOutput, meta: CompletionMeta): ChatCompletion {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: output.model ?? meta.model,
    system_fingerprint: null,
    choices: [{ index: 0, message: output.message, finish_reason: output.finishReason, logprobs: null }],
    usage: output.usage,
    ...(output.trace !== undefined ? { trace: output.trace } : {}),
  }
}

type ChunkDelta = ChatCompletionChunk['choices'][number]['delta']

/**
 * Serialises chunks with a prebuilt prefix: only the delta is stringified per chunk, which keeps
 * the per-token cost of streaming small.
 */
export function chunkSerializer(meta: CompletionMeta) {
  const head = `{"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":null,"choices":`
  return {
    delta(delta: ChunkDelta, finishReason: ChatDelta['finishReason'] | null): string {
      const reason = finishReason ? JSON.stringify(finishReason) : 'null'
      return `${head}[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${reason},"logprobs":null}]}`
    },
    usage(usage: NonNullable<ChatDelta['usage']>): string {
      return `${head}[],"usage":${JSON.stringify(usage)}}`
    },
  }
}

/** Maps a provider delta to the OpenAI delta object; the first one also carries the role. */
export function toChunkDelta(delta: ChatDelta, first: boolean): ChunkDelta | undefined {
  const out: ChunkDelta = first ? { role: 'assistant' } : {}
  let any = first
  if (delta.content !== undefined) {
    out.content = delta.content
    any = true
  }
  if (delta.reasoningContent !== undefined) {
    out.reasoning_content = delta.reasoningContent
    any = true
  }
  if (delta.thinkingBlocks !== undefined) {
    out.thinking_blocks = delta.thinkingBlocks
    any = true
  }
  if (delta.toolCalls !== undefined) {
    out.tool_calls = delta.toolCalls
    any = true
  }
  return any || delta.finishReason ? out : undefined
}
