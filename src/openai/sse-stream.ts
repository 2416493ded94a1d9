import { errorEvent, toGatewayError } from '../errors'
import type { ChatDelta } from '../providers/types'
import { type CompletionMeta, chunkSerializer, toChunkDelta } from './chat-chunks'
import type { Usage } from './chat-response'

export interface StreamOutcome {
  usage?: Usage
  error?: unknown
  /** The client went away before the stream finished. */
  cancelled: boolean
}

export interface SseOptions {
  meta: CompletionMeta
  includeUsage: boolean
  /** Called exactly once when the stream ends for any reason (spend, limits, logs hang off this). */
  onEnd: (outcome: StreamOutcome) => void
  /** Called when the client cancels, to abort the upstream call. */
  onCancel: () => void
  /**
   * Whether the client has disconnected. Runtimes that signal a disconnect through the request
   * (Lambda, Workers) rather than by cancelling the stream make the upstream read fail with an
   * abort; that is a cancellation, not an error to report.
   */
  clientGone?: () => boolean
}

const encoder = new TextEncoder()
const DONE = encoder.encode('data: [DONE]\n\n')

/**
 * OpenAI SSE from provider deltas, pulled one at a time so a slow client slows the upstream read
 * (backpressure) instead of buffering the whole answer in memory.
 *
 * A failure after the first byte cannot change the HTTP status any more; like LiteLLM it becomes
 * one `data: {"error":…}` event and the stream closes without `[DONE]`, so SDKs raise instead of
 * returning a silently truncated answer.
 */
export function toSseStream(
  deltas: AsyncIterable<ChatDelta>,
  options: SseOptions,
): ReadableStream<Uint8Array> {
  const iterator = deltas[Symbol.asyncIterator]()
  const serialize = chunkSerializer(options.meta)
  let first = true
  let usage: Usage | undefined
  let ended = false
  const end = (outcome: StreamOutcome) => {
    if (ended) return
    ended = true
    options.onEnd(outcome)
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next()
          if (next.done) {
            if (options.includeUsage && usage)
              controller.enqueue(encoder.encode(`data: ${serialize.usage(usage)}\n\n`))
            controller.enqueue(DONE)
            controller.close()
            end({ usage, cancelled: false })
            return
          }
          const delta = next.value
          if (delta.usage) usage = delta.usage
          const chunkDelta = toChunkDelta(delta, first)
          if (chunkDelta === undefined) continue
          first = false
          controller.enqueue(
            encoder.encode(`data: ${serialize.delta(chunkDelta, delta.finishReason ?? null)}\n\n`),
          )
          return
        }
      } catch (error) {
        if (options.clientGone?.()) {
          controller.close()
          end({ usage, cancelled: true })
          return
        }
        controller.enqueue(encoder.encode(errorEvent(toGatewayError(error))))
        controller.close()
        end({ usage, error, cancelled: false })
      }
    },
    async cancel() {
      options.onCancel()
      end({ usage, cancelled: true })
      await iterator.return?.()
    },
  })
}
