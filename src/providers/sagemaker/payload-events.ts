import { type EventStreamMessage, eventStreamMeta } from '../../aws/event-stream'
import { sagemakerStreamError, sagemakerStreamException } from './errors'
import { LineReassembler, type PayloadEvent, PayloadLineParser } from './payload-lines'

/**
 * InvokeEndpointWithResponseStream frames → the container's payloads (protocols.md 3.4). Each
 * `PayloadPart` event carries raw bytes of the container's response (not base64, not JSON-wrapped,
 * unlike Bedrock's `chunk` events); they are reassembled into lines and parsed as they complete.
 * `ModelStreamError` / `InternalStreamFailure` exception frames (and unmodeled `error` frames) throw
 * a GatewayError: before the first delta the HTTP layer answers with its status, after it the
 * error goes in-band.
 */

const utf8 = new TextDecoder()

export async function* payloadEvents(
  messages: AsyncIterable<EventStreamMessage>,
): AsyncGenerator<PayloadEvent> {
  const lines = new LineReassembler()
  const parser = new PayloadLineParser()
  for await (const message of messages) {
    const meta = eventStreamMeta(message)
    if (meta.messageType === 'exception') {
      throw sagemakerStreamException(meta.exceptionType ?? 'UnknownException', utf8.decode(message.payload))
    }
    if (meta.messageType === 'error') throw sagemakerStreamError(meta.errorCode, meta.errorMessage)
    if (meta.messageType !== 'event' || meta.eventType !== 'PayloadPart') continue
    for (const line of lines.push(message.payload)) yield* parser.line(line)
  }
  for (const line of lines.end()) yield* parser.line(line)
  parser.end()
}
