/**
 * `application/vnd.amazon.eventstream` helpers for the fakes (protocols.md section 2), built on the
 * AWS SDK's own codec (`@smithy/eventstream-codec`) so they are independent of the gateway's codec.
 */
import { randomInt } from 'node:crypto'
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'

const encoder = new EventStreamCodec(toUtf8, fromUtf8)

const PADDING_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** Random-length `"p"` padding like real Bedrock adds to hide token lengths. */
export function randomPadding(): string {
  return PADDING_ALPHABET.slice(0, randomInt(1, PADDING_ALPHABET.length + 1))
}

function str(value: string): { type: 'string'; value: string } {
  return { type: 'string', value }
}

function encode(headers: MessageHeaders, body: Uint8Array): Uint8Array {
  return encoder.encode({ headers, body })
}

export interface EventFrameOptions {
  /** `false` for no `"p"` field, a string for a fixed one; default random length. */
  padding?: string | false
}

/** `:message-type: event` frame with a JSON payload (plus `"p"` padding by default). */
export function eventFrame(
  eventType: string,
  payload: Record<string, unknown>,
  options: EventFrameOptions = {},
): Uint8Array {
  const padding = options.padding === undefined ? randomPadding() : options.padding
  const body = padding === false ? payload : { ...payload, p: padding }
  return encode(
    {
      ':event-type': str(eventType),
      ':content-type': str('application/json'),
      ':message-type': str('event'),
    },
    fromUtf8(JSON.stringify(body)),
  )
}

/** InvokeModelWithResponseStream `chunk` event: `{"bytes": base64(JSON), "p": …}`. */
export function chunkFrame(inner: unknown, options: EventFrameOptions = {}): Uint8Array {
  return eventFrame(
    'chunk',
    { bytes: Buffer.from(JSON.stringify(inner), 'utf8').toString('base64') },
    options,
  )
}

/** `:message-type: exception` frame (modeled error, e.g. `throttlingException`) with `{"message"}`. */
export function exceptionFrame(
  exceptionType: string,
  message: string,
  extra: Record<string, unknown> = {},
): Uint8Array {
  return encode(
    {
      ':exception-type': str(exceptionType),
      ':content-type': str('application/json'),
      ':message-type': str('exception'),
    },
    fromUtf8(JSON.stringify({ message, ...extra })),
  )
}

/** `:message-type: error` frame (unmodeled error) with an empty payload. */
export function errorFrame(code: string, message: string): Uint8Array {
  return encode(
    { ':error-code': str(code), ':error-message': str(message), ':message-type': str('error') },
    new Uint8Array(0),
  )
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Piece sizes cycled by `splitAwkwardly`: single bytes, odd sizes, sizes that cut length prefixes. */
export const AWKWARD_PATTERN: readonly number[] = [1, 7, 3, 13, 2, 29, 5, 64, 11]

/** Splits bytes into pieces whose sizes cycle through `pattern` (deterministic). */
export function splitAwkwardly(
  bytes: Uint8Array,
  pattern: readonly number[] = AWKWARD_PATTERN,
): Uint8Array[] {
  if (pattern.length === 0 || pattern.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('splitAwkwardly: pattern must be positive integers')
  }
  const pieces: Uint8Array[] = []
  let offset = 0
  let i = 0
  while (offset < bytes.byteLength) {
    const size = pattern[i % pattern.length]!
    pieces.push(bytes.slice(offset, offset + size))
    offset += size
    i++
  }
  return pieces
}

export interface DecodedFrame {
  messageType: string
  /** `:event-type`, `:exception-type` or `:error-code`, whichever the frame has. */
  type: string
  headers: Record<string, string | number | boolean>
  body: Uint8Array
  /** Payload parsed as JSON when it is JSON, else undefined. */
  json: unknown
}

export interface DecodedStream {
  frames: DecodedFrame[]
  /** Bytes left over after the last complete frame (a truncated stream leaves some). */
  leftover: number
}

/**
 * Reassembles frames from arbitrary chunks and decodes each with the smithy codec (which checks
 * both CRCs and throws on corruption).
 */
export function decodeEventStream(chunks: Uint8Array | readonly Uint8Array[]): DecodedStream {
  const bytes = chunks instanceof Uint8Array ? chunks : concatBytes(chunks)
  const decoder = new EventStreamCodec(toUtf8, fromUtf8)
  const frames: DecodedFrame[] = []
  let offset = 0
  while (bytes.byteLength - offset >= 4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.byteLength - offset)
    const total = view.getUint32(0, false)
    if (total < 16 || total > 16 * 1024 * 1024) throw new Error(`corrupt frame length ${total}`)
    if (bytes.byteLength - offset < total) break
    const message = decoder.decode(bytes.subarray(offset, offset + total))
    offset += total
    const headers: Record<string, string | number | boolean> = {}
    for (const [name, header] of Object.entries(message.headers)) {
      const value = header.value
      headers[name] =
        typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? value
          : String(value)
    }
    const messageType = String(headers[':message-type'] ?? '')
    const type = String(headers[':event-type'] ?? headers[':exception-type'] ?? headers[':error-code'] ?? '')
    let json: unknown
    try {
      json = message.body.byteLength > 0 ? JSON.parse(toUtf8(message.body)) : undefined
    } catch {
      json = undefined
    }
    frames.push({ messageType, type, headers, body: message.body, json })
  }
  return { frames, leftover: bytes.byteLength - offset }
}
