import { GatewayError } from '../errors'
import { crc32 } from './crc32'

/**
 * Incremental decoder for `application/vnd.amazon.eventstream`, the binary framing of Bedrock
 * ConverseStream / InvokeModelWithResponseStream and SageMaker InvokeEndpointWithResponseStream.
 *
 * Frame: total_length u32 · headers_length u32 · prelude_crc u32 · headers · payload · message_crc u32
 * (big-endian; the message CRC covers everything before it, including the prelude CRC).
 * Network chunks split frames anywhere, even inside the 4-byte length, so bytes are queued as a
 * list of chunks and copied once per frame (never re-concatenated per push).
 */

/** Header values by wire type: bool (0/1), byte/short/int (2-4), long (5), bytes (6), string (7), timestamp (8), uuid (9). */
export type EventStreamHeaderValue = boolean | number | bigint | Uint8Array | string | Date

export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>
  payload: Uint8Array
}

/** Limits of AWS's own implementation; anything larger is corrupt framing, not a message to buffer. */
const MAX_MESSAGE_LENGTH = 16 * 1024 * 1024
const MAX_HEADERS_LENGTH = 128 * 1024
/** Prelude (12) plus the trailing message CRC (4): a frame with no headers and no payload. */
const MIN_MESSAGE_LENGTH = 16
const PRELUDE_LENGTH = 12

const utf8 = new TextDecoder()

const corrupt = (detail: string): GatewayError =>
  new GatewayError({
    status: 502,
    message: `Malformed AWS event stream from upstream: ${detail}`,
    origin: 'upstream',
  })

const hex = (n: number): string => n.toString(16).padStart(8, '0')

export class EventStreamDecoder {
  private chunks: Uint8Array[] = []
  private buffered = 0
  /** Whether the prelude of the frame being buffered has been verified already. */
  private preludeChecked = false

  /** Adds bytes from the wire and returns every message they complete (possibly none). */
  push(chunk: Uint8Array): EventStreamMessage[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
    const messages: EventStreamMessage[] = []
    while (this.buffered >= 4) {
      const totalLength = readU32(this.peek(4), 0)
      if (totalLength < MIN_MESSAGE_LENGTH || totalLength > MAX_MESSAGE_LENGTH) {
        throw corrupt(`message length ${totalLength} is outside ${MIN_MESSAGE_LENGTH}..${MAX_MESSAGE_LENGTH}`)
      }
      if (this.buffered < totalLength) {
        // Check the prelude as soon as it is here, so a corrupt length fails now instead of after
        // buffering up to 16 MiB of garbage.
        if (!this.preludeChecked && this.buffered >= PRELUDE_LENGTH) {
          checkPrelude(this.peek(PRELUDE_LENGTH))
          this.preludeChecked = true
        }
        break
      }
      this.preludeChecked = false
      messages.push(decodeMessage(this.take(totalLength)))
    }
    return messages
  }

  /** Call at end of body: leftover bytes mean the connection dropped mid-frame. */
  end(): void {
    if (this.buffered > 0) {
      throw new GatewayError({
        status: 502,
        message: 'Truncated event message received.',
        origin: 'upstream',
      })
    }
  }

  /** The first `n` buffered bytes without consuming them (copies only when they span chunks). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length >= n) return first
    return this.copyOut(n, false)
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!
    this.buffered -= n
    if (first.length === n) {
      this.chunks.shift()
      return first
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    return this.copyOut(n, true)
  }

  private copyOut(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    let i = 0
    while (filled < n) {
      const chunk = this.chunks[i]!
      const used = Math.min(chunk.length, n - filled)
      out.set(chunk.subarray(0, used), filled)
      filled += used
      if (consume && used < chunk.length) this.chunks[i] = chunk.subarray(used)
      else i++
    }
    if (consume) this.chunks.splice(0, i)
    return out
  }
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  )
}

function checkPrelude(prelude: Uint8Array): void {
  const totalLength = readU32(prelude, 0)
  const headersLength = readU32(prelude, 4)
  const expected = readU32(prelude, 8)
  const computed = crc32(prelude, 0, 8)
  if (expected !== computed) {
    throw corrupt(
      `the prelude checksum in the message (${hex(expected)}) does not match the calculated CRC32 (${hex(computed)})`,
    )
  }
  if (headersLength > MAX_HEADERS_LENGTH || headersLength > totalLength - MIN_MESSAGE_LENGTH) {
    throw corrupt(`headers length ${headersLength} does not fit a message of ${totalLength} bytes`)
  }
}

function decodeMessage(frame: Uint8Array): EventStreamMessage {
  checkPrelude(frame)
  const end = frame.length - 4
  const expected = readU32(frame, end)
  // The message CRC covers everything before it, the prelude CRC included.
  const computed = crc32(frame, 0, end)
  if (expected !== computed) {
    throw corrupt(
      `the message checksum (${hex(expected)}) does not match the calculated CRC32 (${hex(computed)})`,
    )
  }
  const headersEnd = PRELUDE_LENGTH + readU32(frame, 4)
  return {
    headers: decodeHeaders(frame, PRELUDE_LENGTH, headersEnd),
    payload: frame.subarray(headersEnd, end),
  }
}

function decodeHeaders(
  frame: Uint8Array,
  start: number,
  end: number,
): Record<string, EventStreamHeaderValue> {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const headers: Record<string, EventStreamHeaderValue> = {}
  let at = start
  const need = (n: number): void => {
    if (at + n > end) throw corrupt('a header runs past the end of the headers section')
  }
  while (at < end) {
    need(1)
    const nameLength = view.getUint8(at)
    at += 1
    need(nameLength + 1)
    const name = utf8.decode(frame.subarray(at, at + nameLength))
    at += nameLength
    const type = view.getUint8(at)
    at += 1
    switch (type) {
      case 0:
      case 1:
        headers[name] = type === 0
        break
      case 2:
        need(1)
        headers[name] = view.getInt8(at)
        at += 1
        break
      case 3:
        need(2)
        headers[name] = view.getInt16(at)
        at += 2
        break
      case 4:
        need(4)
        headers[name] = view.getInt32(at)
        at += 4
        break
      case 5:
        need(8)
        headers[name] = view.getBigInt64(at)
        at += 8
        break
      case 6:
      case 7: {
        need(2)
        const length = view.getUint16(at)
        at += 2
        need(length)
        const bytes = frame.subarray(at, at + length)
        headers[name] = type === 7 ? utf8.decode(bytes) : bytes
        at += length
        break
      }
      case 8:
        need(8)
        headers[name] = new Date(Number(view.getBigInt64(at)))
        at += 8
        break
      case 9:
        need(16)
        headers[name] = formatUuid(frame.subarray(at, at + 16))
        at += 16
        break
      default:
        throw corrupt(`unknown header value type ${type} for header "${name}"`)
    }
  }
  return headers
}

function formatUuid(bytes: Uint8Array): string {
  const h = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The service-defined headers (all strings on the wire) that say what a frame is. */
export interface EventStreamMeta {
  messageType?: string
  eventType?: string
  exceptionType?: string
  contentType?: string
  errorCode?: string
  errorMessage?: string
}

const stringHeader = (message: EventStreamMessage, name: string): string | undefined => {
  const value = message.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** Reads `:message-type` (`event` | `exception` | `error`) and its companion headers. */
export function eventStreamMeta(message: EventStreamMessage): EventStreamMeta {
  return {
    messageType: stringHeader(message, ':message-type'),
    eventType: stringHeader(message, ':event-type'),
    exceptionType: stringHeader(message, ':exception-type'),
    contentType: stringHeader(message, ':content-type'),
    errorCode: stringHeader(message, ':error-code'),
    errorMessage: stringHeader(message, ':error-message'),
  }
}

/**
 * Decodes an HTTP body into messages as they complete. Ending early (break/throw in the consumer)
 * cancels the body, which closes the upstream connection. A body that stops mid-frame, or a read
 * that fails, is an upstream failure (502), except when the caller's signal aborted the read.
 */
export async function* decodeEventStream(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<EventStreamMessage, void, undefined> {
  const decoder = new EventStreamDecoder()
  const reader = body.getReader()
  let finished = false
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        finished = true
        if (signal?.aborted || error instanceof GatewayError) throw error
        throw new GatewayError({
          status: 502,
          message: 'The connection to the upstream event stream failed mid-stream.',
          origin: 'upstream',
          cause: error,
        })
      }
      if (result.done) {
        finished = true
        decoder.end()
        return
      }
      yield* decoder.push(result.value)
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
