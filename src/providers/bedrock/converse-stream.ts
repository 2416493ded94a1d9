import { type EventStreamMessage, eventStreamMeta } from '../../aws/event-stream'
import { GatewayError } from '../../errors'
import type { ChatDelta } from '../types'
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

  /** Index of a tool block that ends without any input fragment; undefined for text blocks and the rest. */
  endedEmpty(block: number): number | undefined {
    if (this.withInput.has(block)) return undefined
    // Once only, even if a stop event were repeated.
    this.withInput.add(block)
    return this.byBlock.get(block)
  }
}

function startDelta(event: ContentBlockStartEvent, tools: ToolIndexes): ChatDelta | undefined {
  const toolUse = event.start?.toolUse
  if (!toolUse) return undefined
  return {
    toolCalls: [
      {
        index: tools.open(event.contentBlockIndex ?? -1),
        id: toolUse.toolUseId ?? '',
        type: 'function',
        function: { name: toolUse.name ?? '', arguments: '' },
      },
    ],
  }
}

function blockDelta(event: ContentBlockDeltaEvent, tools: ToolIndexes): ChatDelta | undefined {
  const delta = event.delta
  if (typeof delta?.text === 'string' && delta.text !== '') return { content: delta.text }
  const input = delta?.toolUse?.input
  if (typeof input === 'string' && input !== '') {
    return {
      toolCalls: [{ index: tools.input(event.contentBlockIndex ?? -1), function: { arguments: input } }],
    }
  }
  const reasoning = delta?.reasoningContent?.text
  if (typeof reasoning === 'string' && reasoning !== '') return { reasoningContent: reasoning }
  return undefined
}

/**
 * A tool call without parameters may stream no input fragment at all, which would leave the client
 * with `arguments: ""` where the non-streaming answer has "{}" (JSON.stringify of the empty input) and
 * `JSON.parse` fails. LiteLLM fixes this up at contentBlockStop the same way.
 */
function stopDelta(event: ContentBlockStopEvent, tools: ToolIndexes): ChatDelta | undefined {
  const index = tools.endedEmpty(event.contentBlockIndex ?? -1)
  return index === undefined ? undefined : { toolCalls: [{ index, function: { arguments: '{}' } }] }
}

/** Yields one delta per meaningful event; never an empty delta. Throws GatewayError on stream faults. */
export async function* converseStreamDeltas(
  messages: AsyncIterable<EventStreamMessage>,
): AsyncGenerator<ChatDelta> {
  const tools = new ToolIndexes()
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
        delta = startDelta(parsePayload(message, meta.eventType) as ContentBlockStartEvent, tools)
        break
      case 'contentBlockDelta':
        delta = blockDelta(parsePayload(message, meta.eventType) as ContentBlockDeltaEvent, tools)
        break
      case 'contentBlockStop':
        delta = stopDelta(parsePayload(message, meta.eventType) as ContentBlockStopEvent, tools)
        break
      case 'messageStop':
        stopped = true
        delta = {
          finishReason: mapStopReason((parsePayload(message, meta.eventType) as MessageStopEvent).stopReason),
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
