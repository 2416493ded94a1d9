import { type EventStreamMessage, eventStreamMeta } from '../../aws/event-stream'
import { GatewayError } from '../../errors'
import type { ChatDelta } from '../types'
import { type ConverseOutputOptions, JSON_TOOL_NAME, type JsonMode, jsonModeFor } from './converse-json-mode'
import { JsonToolContent } from './converse-json-stream'
import { mapStopReason, mapUsage } from './converse-response'
import type {
  ContentBlockDeltaEvent,
  ContentBlockStartEvent,
  ContentBlockStopEvent,
  MessageStopEvent,
  MetadataEvent,
} from './converse-types'
import { bedrockStreamError, bedrockStreamException } from './errors'

/**
 * ConverseStream events → ChatDelta, as LiteLLM's `AWSEventStreamDecoder.converse_chunk_parser`.
 * Wire order: messageStart, per block [contentBlockStart (tool blocks only)] contentBlockDelta×N
 * contentBlockStop, messageStop (stopReason), then metadata (usage) last.
 *
 * Reasoning deltas carry `reasoning_content` and, as LiteLLM streams them, `thinking_blocks` (the
 * signature arrives in its own delta with empty text). In JSON mode the schema tool's input
 * fragments are streamed as content and the answer finishes with `stop`, as the non-streaming
 * mapping reads it.
 */

const utf8 = new TextDecoder()

const upstreamFault = (detail: string): GatewayError =>
  new GatewayError({
    status: 502,
    message: `litellm.BadGatewayError: BedrockException - ${detail}`,
    origin: 'upstream',
  })

/** The JSON object of an event; typed loosely by the caller, every member is checked before use. */
function parsePayload(message: EventStreamMessage, eventType: string): object {
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(message.payload))
  } catch {
    throw upstreamFault(`the ${eventType} event payload is not valid JSON.`)
  }
  return typeof json === 'object' && json !== null ? json : {}
}

/**
 * Tracks OpenAI tool-call indexes: they count tool calls (0, 1, …) whereas Bedrock's
 * contentBlockIndex counts every block, text included. Arguments are forwarded as they arrive; the
 * tracker also remembers which tool blocks got any, for the empty-arguments fixup at contentBlockStop.
 */
class ToolIndexes {
  private byBlock = new Map<number, number>()
  private withInput = new Set<number>()
  private next = 0

  open(block: number): number {
    const index = this.next++
    this.byBlock.set(block, index)
    return index
  }

  /** Index of a tool block receiving an input fragment (opened here if its start event was missing). */
  input(block: number): number {
    this.withInput.add(block)
    return this.byBlock.get(block) ?? this.open(block)
  }

  /** How many tool calls the client has seen. */
  get count(): number {
    return this.next
  }

  /** Index of a tool block that ends without any input fragment; undefined for text blocks and the rest. */
  endedEmpty(block: number): number | undefined {
    if (this.withInput.has(block)) return undefined
    // Once only, even if a stop event were repeated.
    this.withInput.add(block)
    return this.byBlock.get(block)
  }
}

/** Per-stream state: tool-call indexes and the JSON-mode schema tool's block, if any. */
interface StreamState {
  tools: ToolIndexes
  jsonMode: JsonMode | undefined
  /** The schema tool's block index and its content so far. */
  json?: { block: number; content: JsonToolContent }
}

function startDelta(event: ContentBlockStartEvent, state: StreamState): ChatDelta | undefined {
  const toolUse = event.start?.toolUse
  if (!toolUse) return undefined
  const block = event.contentBlockIndex ?? -1
  if (state.jsonMode !== undefined && toolUse.name === JSON_TOOL_NAME && state.json === undefined) {
    state.json = { block, content: new JsonToolContent(state.jsonMode) }
    return undefined
  }
  return {
    toolCalls: [
      {
        index: state.tools.open(block),
        id: toolUse.toolUseId ?? '',
        type: 'function',
        function: { name: toolUse.name ?? '', arguments: '' },
      },
    ],
  }
}

/** LiteLLM's `translate_thinking_blocks` for one reasoning delta. */
function reasoningDelta(reasoning: ReasoningDelta): ChatDelta | undefined {
  if (typeof reasoning.text === 'string' && reasoning.text !== '') {
    return {
      reasoningContent: reasoning.text,
      thinkingBlocks: [{ type: 'thinking', thinking: reasoning.text }],
    }
  }
  if (typeof reasoning.signature === 'string' && reasoning.signature !== '') {
    return {
      reasoningContent: '',
      thinkingBlocks: [{ type: 'thinking', thinking: '', signature: reasoning.signature }],
    }
  }
  if (typeof reasoning.redactedContent === 'string' && reasoning.redactedContent !== '') {
    return { thinkingBlocks: [{ type: 'redacted_thinking', data: reasoning.redactedContent }] }
  }
  return undefined
}

type ReasoningDelta = NonNullable<NonNullable<ContentBlockDeltaEvent['delta']>['reasoningContent']>

const contentDelta = (content: string): ChatDelta | undefined => (content === '' ? undefined : { content })

function blockDelta(event: ContentBlockDeltaEvent, state: StreamState): ChatDelta | undefined {
  const delta = event.delta
  if (typeof delta?.text === 'string' && delta.text !== '') return { content: delta.text }
  const input = delta?.toolUse?.input
  if (typeof input === 'string' && input !== '') {
    const block = event.contentBlockIndex ?? -1
    if (state.json?.block === block) return contentDelta(state.json.content.add(input))
    return {
      toolCalls: [{ index: state.tools.input(block), function: { arguments: input } }],
    }
  }
  return delta?.reasoningContent ? reasoningDelta(delta.reasoningContent) : undefined
}

/**
 * A tool call without parameters may stream no input fragment at all, which would leave the client
 * with `arguments: ""` where the non-streaming answer has "{}" (JSON.stringify of the empty input) and
 * `JSON.parse` fails. LiteLLM fixes this up at contentBlockStop the same way.
 */
function stopDelta(event: ContentBlockStopEvent, state: StreamState): ChatDelta | undefined {
  const block = event.contentBlockIndex ?? -1
  if (state.json?.block === block) return contentDelta(state.json.content.end())
  const index = state.tools.endedEmpty(block)
  return index === undefined ? undefined : { toolCalls: [{ index, function: { arguments: '{}' } }] }
}

/** The schema tool answered and no other tool was called: a finished answer, not a tool call. */
function finishReason(event: MessageStopEvent, state: StreamState): ChatDelta['finishReason'] {
  const reason = mapStopReason(event.stopReason)
  return reason === 'tool_calls' && state.json !== undefined && state.tools.count === 0 ? 'stop' : reason
}

/** Yields one delta per meaningful event; never an empty delta. Throws GatewayError on stream faults. */
export async function* converseStreamDeltas(
  messages: AsyncIterable<EventStreamMessage>,
  options?: ConverseOutputOptions,
): AsyncGenerator<ChatDelta> {
  const state: StreamState = { tools: new ToolIndexes(), jsonMode: jsonModeFor(options) }
  let stopped = false
  for await (const message of messages) {
    const meta = eventStreamMeta(message)
    if (meta.messageType === 'exception') {
      throw bedrockStreamException(meta.exceptionType ?? 'unknownException', utf8.decode(message.payload))
    }
    if (meta.messageType === 'error') throw bedrockStreamError(meta.errorCode, meta.errorMessage)
    if (meta.messageType !== 'event') continue
    let delta: ChatDelta | undefined
    switch (meta.eventType) {
      case 'contentBlockStart':
        delta = startDelta(parsePayload(message, meta.eventType) as ContentBlockStartEvent, state)
        break
      case 'contentBlockDelta':
        delta = blockDelta(parsePayload(message, meta.eventType) as ContentBlockDeltaEvent, state)
        break
      case 'contentBlockStop':
        delta = stopDelta(parsePayload(message, meta.eventType) as ContentBlockStopEvent, state)
        break
      case 'messageStop':
        stopped = true
        delta = {
          finishReason: finishReason(parsePayload(message, meta.eventType) as MessageStopEvent, state),
        }
        break
      case 'metadata': {
        const usage = (parsePayload(message, meta.eventType) as MetadataEvent).usage
        if (usage) delta = { usage: mapUsage(usage) }
        break
      }
      // messageStart (the HTTP layer sends the role itself) and new event kinds.
      default:
        break
    }
    if (delta) yield delta
  }
  // Frames ended cleanly but the message never finished: the connection was cut between frames.
  if (!stopped) throw upstreamFault('the stream ended before messageStop.')
}
