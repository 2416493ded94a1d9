import { type EventStreamMessage, eventStreamMeta } from '../../aws/event-stream'
import { GatewayError } from '../../errors'
import type { ChatDelta } from '../types'
import { type ConverseOutputOptions, JSON_TOOL_NAME, type JsonMode, jsonModeFor } from './converse-json-mode'
import { JsonToolContent } from './converse-json-stream'
import { bedrockError, bedrockStreamError, bedrockStreamException } from './errors'
import { mapAnthropicStopReason, mapAnthropicUsage, usageFromMetrics } from './invoke-response'
import type { AnthropicStreamEvent, AnthropicUsage } from './invoke-types'

/**
 * InvokeModelWithResponseStream for Claude → ChatDelta. Every `chunk` frame's payload is
 * `{"bytes": "<base64>", "p": "<padding>"}`; the bytes are one Anthropic streaming event as JSON
 * (protocols.md 1.7): message_start (input usage), content_block_start / _delta / _stop per block,
 * message_delta (stop_reason, output usage), message_stop (with Bedrock's invocation metrics).
 * Mapped as LiteLLM's Anthropic stream adapter: text_delta → content, input_json_delta → tool-call
 * arguments (forwarded as they arrive), thinking_delta → reasoning_content, redacted_thinking blocks
 * → thinking_blocks.
 */

const utf8 = new TextDecoder()

const upstreamFault = (detail: string): GatewayError =>
  new GatewayError({
    status: 502,
    message: `litellm.BadGatewayError: BedrockException - ${detail}`,
    origin: 'upstream',
  })

/** Standard base64 → bytes with the web-standard `atob` (no Buffer in src/). */
export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The Anthropic event inside one `chunk` frame. */
export function decodeChunk(message: EventStreamMessage): AnthropicStreamEvent {
  try {
    const frame: unknown = JSON.parse(utf8.decode(message.payload))
    const bytes =
      typeof frame === 'object' && frame !== null && 'bytes' in frame && typeof frame.bytes === 'string'
        ? frame.bytes
        : undefined
    if (bytes === undefined) throw new Error('no bytes')
    const event: unknown = JSON.parse(utf8.decode(base64ToBytes(bytes)))
    if (typeof event !== 'object' || event === null) throw new Error('not an object')
    return event as AnthropicStreamEvent
  } catch {
    throw upstreamFault('a chunk of the InvokeModel stream is not base64-encoded JSON.')
  }
}

/**
 * OpenAI tool-call indexes count tool calls (0, 1, …) whereas Anthropic's `index` counts every
 * content block, text and thinking included. Also remembers which tool blocks received arguments,
 * for the empty-arguments fixup at content_block_stop.
 */
class ToolBlocks {
  private byBlock = new Map<number, number>()
  private withInput = new Set<number>()
  private next = 0

  open(block: number): number {
    const index = this.next++
    this.byBlock.set(block, index)
    return index
  }

  /** Index of the tool call an argument fragment belongs to; undefined for a non-tool block. */
  input(block: number): number | undefined {
    const index = this.byBlock.get(block)
    if (index !== undefined) this.withInput.add(block)
    return index
  }

  /** Index of a tool block that ends without any argument fragment (once). */
  endedEmpty(block: number): number | undefined {
    const index = this.byBlock.get(block)
    if (index === undefined || this.withInput.has(block)) return undefined
    this.withInput.add(block)
    return index
  }

  /** Tool calls the client sees. */
  get count(): number {
    return this.next
  }
}

/** Per-stream state: tool-call indexes and the JSON-mode schema tool's block, if any (as on Converse). */
interface StreamState {
  tools: ToolBlocks
  jsonMode: JsonMode | undefined
  /** The schema tool's block index and its content so far. */
  json?: { block: number; content: JsonToolContent }
}

const contentDelta = (content: string): ChatDelta | undefined => (content === '' ? undefined : { content })

/** Later counts win; a field an event leaves out keeps its earlier value. */
function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): void {
  if (!from) return
  for (const field of [
    'input_tokens',
    'output_tokens',
    'cache_read_input_tokens',
    'cache_creation_input_tokens',
  ] as const) {
    const value = from[field]
    if (typeof value === 'number' && Number.isFinite(value)) into[field] = value
  }
}

function startDelta(event: AnthropicStreamEvent, state: StreamState): ChatDelta | undefined {
  const block = event.content_block
  if (block?.type === 'tool_use') {
    if (state.jsonMode !== undefined && block.name === JSON_TOOL_NAME && state.json === undefined) {
      // The forced schema tool streams the answer itself: its input becomes content.
      state.json = { block: event.index ?? -1, content: new JsonToolContent(state.jsonMode) }
      return undefined
    }
    return {
      toolCalls: [
        {
          index: state.tools.open(event.index ?? -1),
          id: block.id ?? '',
          type: 'function',
          function: { name: block.name ?? '', arguments: '' },
        },
      ],
    }
  }
  // Text blocks start empty in practice; a non-empty start text is content all the same.
  if (block?.type === 'text' && typeof block.text === 'string' && block.text !== '') {
    return { content: block.text }
  }
  // Encrypted reasoning arrives whole in the start event and gets no deltas. Kept as the
  // non-streaming answer keeps it: Claude wants it back verbatim in the next turn of a tool loop.
  if (block?.type === 'redacted_thinking' && typeof block.data === 'string' && block.data !== '') {
    return { thinkingBlocks: [{ type: 'redacted_thinking', data: block.data }] }
  }
  return undefined
}

function blockDelta(event: AnthropicStreamEvent, state: StreamState): ChatDelta | undefined {
  const delta = event.delta
  switch (delta?.type) {
    case 'text_delta':
      return typeof delta.text === 'string' && delta.text !== '' ? { content: delta.text } : undefined
    case 'input_json_delta': {
      const fragment = delta.partial_json
      if (typeof fragment !== 'string' || fragment === '') return undefined
      if (state.json?.block === (event.index ?? -1)) return contentDelta(state.json.content.add(fragment))
      const index = state.tools.input(event.index ?? -1)
      return index === undefined ? undefined : { toolCalls: [{ index, function: { arguments: fragment } }] }
    }
    // Thinking streams twice, as LiteLLM does: as reasoning_content, and as thinking_blocks whose
    // signature (sent last) the client needs to send the block back in a later turn.
    case 'thinking_delta':
      return typeof delta.thinking === 'string' && delta.thinking !== ''
        ? {
            reasoningContent: delta.thinking,
            thinkingBlocks: [{ type: 'thinking', thinking: delta.thinking }],
          }
        : undefined
    case 'signature_delta':
      return typeof delta.signature === 'string' && delta.signature !== ''
        ? { thinkingBlocks: [{ type: 'thinking', thinking: '', signature: delta.signature }] }
        : undefined
    default:
      return undefined
  }
}

/** Anthropic's in-band `error` event (`overloaded_error` …), mapped like the HTTP errors. */
function streamErrorEvent(event: AnthropicStreamEvent): GatewayError {
  const type = event.error?.type ?? 'api_error'
  const message = event.error?.message ?? type
  const status = type === 'overloaded_error' ? 503 : type === 'rate_limit_error' ? 429 : 500
  return bedrockError(status, new Headers(), JSON.stringify({ message }))
}

/** Yields one delta per meaningful event; never an empty delta. Throws GatewayError on stream faults. */
export async function* invokeStreamDeltas(
  messages: AsyncIterable<EventStreamMessage>,
  options?: ConverseOutputOptions,
): AsyncGenerator<ChatDelta> {
  const state: StreamState = { tools: new ToolBlocks(), jsonMode: jsonModeFor(options) }
  const usage: AnthropicUsage = {}
  let finished = false
  let stopped = false
  for await (const message of messages) {
    const meta = eventStreamMeta(message)
    if (meta.messageType === 'exception') {
      throw bedrockStreamException(meta.exceptionType ?? 'unknownException', utf8.decode(message.payload))
    }
    if (meta.messageType === 'error') throw bedrockStreamError(meta.errorCode, meta.errorMessage)
    if (meta.messageType !== 'event' || meta.eventType !== 'chunk') continue
    const event = decodeChunk(message)
    let delta: ChatDelta | undefined
    switch (event.type) {
      case 'message_start':
        mergeUsage(usage, event.message?.usage)
        break
      case 'content_block_start':
        delta = startDelta(event, state)
        break
      case 'content_block_delta':
        delta = blockDelta(event, state)
        break
      case 'content_block_stop': {
        if (state.json?.block === (event.index ?? -1)) {
          delta = contentDelta(state.json.content.end())
          break
        }
        // A tool without parameters may stream no fragment: "{}" as in the non-streaming answer.
        const index = state.tools.endedEmpty(event.index ?? -1)
        if (index !== undefined) delta = { toolCalls: [{ index, function: { arguments: '{}' } }] }
        break
      }
      case 'message_delta':
        mergeUsage(usage, event.usage)
        if (typeof event.delta?.stop_reason === 'string') {
          finished = true
          const reason = mapAnthropicStopReason(event.delta.stop_reason)
          // The schema tool answered and no other tool was called: a finished answer, not a tool call.
          const answered = reason === 'tool_calls' && state.json !== undefined && state.tools.count === 0
          delta = { finishReason: answered ? 'stop' : reason }
        }
        break
      case 'message_stop': {
        stopped = true
        const metrics = event['amazon-bedrock-invocationMetrics']
        // Anthropic's own counts win (they split out cache reads/writes); Bedrock's fill the gaps.
        const counted: AnthropicUsage = {}
        if (metrics) mergeUsage(counted, usageFromMetrics(metrics))
        mergeUsage(counted, usage)
        delta = {}
        // No counts at all: no usage, so the HTTP layer estimates instead of billing zero.
        if (Object.keys(counted).length > 0) delta.usage = mapAnthropicUsage(counted)
        if (!finished) delta.finishReason = 'stop'
        if (delta.usage === undefined && delta.finishReason === undefined) delta = undefined
        break
      }
      case 'error':
        throw streamErrorEvent(event)
      // ping and new event kinds.
      default:
        break
    }
    if (delta) yield delta
  }
  // Frames ended cleanly but the message never finished: the connection was cut between frames.
  if (!stopped) throw upstreamFault('the stream ended before message_stop.')
}
