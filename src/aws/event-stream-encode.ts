import { crc32 } from './crc32'

/**
 * Encodes one `application/vnd.amazon.eventstream` frame with string (type 7) headers only –
 * all that Bedrock/SageMaker send and what test fakes need. Layout as in `event-stream.ts`.
 */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Uint8Array {
  const encoder = new TextEncoder()
  const parts: Uint8Array[] = []
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = encoder.encode(name)
    const valueBytes = encoder.encode(value)
    if (nameBytes.length > 255) throw new Error(`event-stream header name too long: ${name}`)
    if (valueBytes.length > 0xffff) throw new Error(`event-stream header value too long: ${name}`)
    const part = new Uint8Array(1 + nameBytes.length + 3 + valueBytes.length)
    part[0] = nameBytes.length
    part.set(nameBytes, 1)
    const at = 1 + nameBytes.length
    part[at] = 7
    part[at + 1] = valueBytes.length >>> 8
    part[at + 2] = valueBytes.length & 0xff
    part.set(valueBytes, at + 3)
    parts.push(part)
  }
  const headersLength = parts.reduce((sum, p) => sum + p.length, 0)
  const totalLength = 16 + headersLength + payload.length
  const out = new Uint8Array(totalLength)
  const view = new DataView(out.buffer)
  view.setUint32(0, totalLength)
  view.setUint32(4, headersLength)
  view.setUint32(8, crc32(out, 0, 8))
  let at = 12
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  out.set(payload, at)
  view.setUint32(totalLength - 4, crc32(out, 0, totalLength - 4))
  return out
}
