import { EventStreamCodec, Int64 } from '@smithy/eventstream-codec'
import type { MessageHeaders } from '@smithy/types'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'
import { describe, expect, it } from 'vitest'
import { CRC32_INIT, crc32, crc32Final, crc32Update } from '../../src/aws/crc32'
import {
  decodeEventStream,
  EventStreamDecoder,
  type EventStreamMessage,
  eventStreamMeta,
} from '../../src/aws/event-stream'
import { encodeEventStreamMessage } from '../../src/aws/event-stream-encode'
import { GatewayError } from '../../src/errors'

const enc = new TextEncoder()
const dec = new TextDecoder()

const fromHex = (hex: string): Uint8Array =>
  Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16))

/** protocols.md §2.3: `:event-type=chunk`, `:content-type=application/json`, `:message-type=event`. */
const GOLDEN = fromHex(`
  0000006b 0000004b 6ace012d
  0b 3a6576656e742d74797065 07 0005 6368756e6b
  0d 3a636f6e74656e742d74797065 07 0010 6170706c69636174696f6e2f6a736f6e
  0d 3a6d6573736167652d74797065 07 0005 6576656e74
  7b226279746573223a226533303d227d
  3651dbfe`)
const GOLDEN_HEADERS = {
  ':event-type': 'chunk',
  ':content-type': 'application/json',
  ':message-type': 'event',
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const frame = (eventType: string, payload: string): Uint8Array =>
  encodeEventStreamMessage({ ':message-type': 'event', ':event-type': eventType }, enc.encode(payload))

const simplify = (m: EventStreamMessage) => ({ headers: m.headers, payload: dec.decode(m.payload) })

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const streamOf = (chunks: Uint8Array[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c)
      controller.close()
    },
  })

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('crc32', () => {
  it('matches the IEEE check value and the golden prelude CRC', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926)
    expect(crc32(GOLDEN, 0, 8)).toBe(0x6ace012d)
    expect(crc32(GOLDEN, 0, 103)).toBe(0x3651dbfe)
  })

  it('gives the same value when fed in pieces', () => {
    const state = crc32Update(crc32Update(CRC32_INIT, GOLDEN, 0, 40), GOLDEN, 40, 103)
    expect(crc32Final(state)).toBe(0x3651dbfe)
  })
})

describe('encodeEventStreamMessage', () => {
  it('reproduces the golden vector byte for byte', () => {
    const encoded = encodeEventStreamMessage(GOLDEN_HEADERS, enc.encode('{"bytes":"e30="}'))
    expect(encoded.length).toBe(107)
    expect(Array.from(encoded)).toEqual(Array.from(GOLDEN))
  })
})

describe('EventStreamDecoder', () => {
  it('decodes the golden vector', () => {
    const [message, ...rest] = new EventStreamDecoder().push(GOLDEN)
    expect(rest).toEqual([])
    expect(simplify(message!)).toEqual({ headers: GOLDEN_HEADERS, payload: '{"bytes":"e30="}' })
    expect(eventStreamMeta(message!)).toMatchObject({
      messageType: 'event',
      eventType: 'chunk',
      contentType: 'application/json',
    })
  })

  it('decodes the golden vector fed one byte at a time, emitting only on the last byte', () => {
    const decoder = new EventStreamDecoder()
    for (let i = 0; i < GOLDEN.length - 1; i++) expect(decoder.push(GOLDEN.subarray(i, i + 1))).toEqual([])
    const out = decoder.push(GOLDEN.subarray(GOLDEN.length - 1))
    expect(out.map(simplify)).toEqual([{ headers: GOLDEN_HEADERS, payload: '{"bytes":"e30="}' }])
    expect(() => decoder.end()).not.toThrow()
  })

  it('decodes a 3-frame stream split at every offset into two chunks', () => {
    const frames = [
      frame('messageStart', '{"role":"assistant"}'),
      frame('contentBlockDelta', '{"x":1}'),
      frame('messageStop', ''),
    ]
    const all = concat(frames)
    const expected = [
      {
        headers: { ':message-type': 'event', ':event-type': 'messageStart' },
        payload: '{"role":"assistant"}',
      },
      { headers: { ':message-type': 'event', ':event-type': 'contentBlockDelta' }, payload: '{"x":1}' },
      { headers: { ':message-type': 'event', ':event-type': 'messageStop' }, payload: '' },
    ]
    for (let cut = 0; cut <= all.length; cut++) {
      const decoder = new EventStreamDecoder()
      const out = [...decoder.push(all.subarray(0, cut)), ...decoder.push(all.subarray(cut))]
      expect(out.map(simplify)).toEqual(expected)
      decoder.end()
    }
  })

  it('decodes a 3-frame stream split at every pair of offsets (three chunks)', () => {
    const all = concat([frame('a', '1'), frame('b', '22'), frame('c', '333')])
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j += 5) {
        const decoder = new EventStreamDecoder()
        const out = [all.subarray(0, i), all.subarray(i, j), all.subarray(j)].flatMap((c) => decoder.push(c))
        expect(out.map((m) => dec.decode(m.payload))).toEqual(['1', '22', '333'])
      }
    }
  })

  it('rejects a bad prelude CRC with a 502 as soon as the prelude is in', () => {
    const bad = GOLDEN.slice()
    bad[8] = bad[8]! ^ 0xff
    const error = catchError(() => new EventStreamDecoder().push(bad.subarray(0, 12)))
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toMatch(/prelude checksum/)
  })

  it('rejects a bad message CRC with a 502', () => {
    const bad = GOLDEN.slice()
    bad[bad.length - 20] = bad[bad.length - 20]! ^ 0x01 // flip a payload bit
    const error = catchError(() => new EventStreamDecoder().push(bad))
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toMatch(/message checksum/)
  })

  it('rejects impossible lengths before buffering', () => {
    const tooSmall = fromHex('0000000f 00000000')
    expect(() => new EventStreamDecoder().push(tooSmall)).toThrow(/message length 15/)
    const tooBig = fromHex('01000001')
    expect(() => new EventStreamDecoder().push(tooBig)).toThrow(/message length 16777217/)
  })

  it('end() throws "Truncated event message received." when bytes remain', () => {
    const decoder = new EventStreamDecoder()
    expect(decoder.push(GOLDEN.subarray(0, 50))).toEqual([])
    const error = catchError(() => decoder.end())
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toBe('Truncated event message received.')
  })

  it('reads the headers of exception and error frames', () => {
    const exception = encodeEventStreamMessage(
      {
        ':message-type': 'exception',
        ':exception-type': 'throttlingException',
        ':content-type': 'application/json',
      },
      enc.encode('{"message":"Too many requests"}'),
    )
    const error = encodeEventStreamMessage(
      { ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'boom' },
      new Uint8Array(0),
    )
    const [a, b] = new EventStreamDecoder().push(concat([exception, error]))
    expect(eventStreamMeta(a!)).toEqual({
      messageType: 'exception',
      exceptionType: 'throttlingException',
      contentType: 'application/json',
      eventType: undefined,
      errorCode: undefined,
      errorMessage: undefined,
    })
    expect(eventStreamMeta(b!)).toMatchObject({
      messageType: 'error',
      errorCode: 'InternalFailure',
      errorMessage: 'boom',
    })
    expect(b!.payload.length).toBe(0)
  })
})

describe('cross-check with @smithy/eventstream-codec', () => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8)

  it('decodes every header type smithy encodes', () => {
    const headers: MessageHeaders = {
      t: { type: 'boolean', value: true },
      f: { type: 'boolean', value: false },
      byte: { type: 'byte', value: -5 },
      short: { type: 'short', value: -1234 },
      int: { type: 'integer', value: 123456789 },
      long: { type: 'long', value: Int64.fromNumber(-9007199254740991) },
      bin: { type: 'binary', value: Uint8Array.of(0, 1, 254, 255) },
      str: { type: 'string', value: 'héllo ✓' },
      ts: { type: 'timestamp', value: new Date(1716446740123) },
      id: { type: 'uuid', value: '0c4b6bd0-9bd1-4e4c-a5c8-4e1ab4f6b0a1' },
    }
    const bytes = codec.encode({ headers, body: enc.encode('payload') })
    const [message] = new EventStreamDecoder().push(bytes)
    expect(message!.headers).toEqual({
      t: true,
      f: false,
      byte: -5,
      short: -1234,
      int: 123456789,
      long: -9007199254740991n,
      bin: Uint8Array.of(0, 1, 254, 255),
      str: 'héllo ✓',
      ts: new Date(1716446740123),
      id: '0c4b6bd0-9bd1-4e4c-a5c8-4e1ab4f6b0a1',
    })
    expect(dec.decode(message!.payload)).toBe('payload')
  })

  it('smithy decodes what our encoder writes', () => {
    const ours = encodeEventStreamMessage(
      { ':message-type': 'event', ':event-type': 'contentBlockDelta', ':content-type': 'application/json' },
      enc.encode('{"delta":{"text":"Hi ✓"}}'),
    )
    const decoded = codec.decode(ours)
    expect(decoded.headers).toEqual({
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'contentBlockDelta' },
      ':content-type': { type: 'string', value: 'application/json' },
    })
    expect(dec.decode(decoded.body)).toBe('{"delta":{"text":"Hi ✓"}}')
  })

  it('our encoder and smithy produce identical bytes for string headers', () => {
    const payload = enc.encode('{"bytes":"e30="}')
    const smithy = codec.encode({
      headers: {
        ':event-type': { type: 'string', value: 'chunk' },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: payload,
    })
    expect(Array.from(encodeEventStreamMessage(GOLDEN_HEADERS, payload))).toEqual(Array.from(smithy))
  })
})

describe('decodeEventStream', () => {
  it('yields messages across odd-sized chunks', async () => {
    const all = concat([frame('a', '{"n":1}'), frame('b', '{"n":2}')])
    const chunks: Uint8Array[] = []
    for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7))
    const out = await collect(decodeEventStream(streamOf(chunks)))
    expect(out.map((m) => [m.headers[':event-type'], dec.decode(m.payload)])).toEqual([
      ['a', '{"n":1}'],
      ['b', '{"n":2}'],
    ])
  })

  it('throws a 502 when the body ends mid-frame, after yielding the complete frames', async () => {
    const all = concat([frame('a', '1'), frame('b', '2')])
    const seen: string[] = []
    const error = await (async () => {
      try {
        for await (const m of decodeEventStream(streamOf([all.subarray(0, all.length - 3)]))) {
          seen.push(dec.decode(m.payload))
        }
      } catch (e) {
        return e
      }
    })()
    expect(seen).toEqual(['1'])
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).message).toBe('Truncated event message received.')
  })

  it('wraps a failing body read in a 502', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.error(new TypeError('socket hang up'))
      },
    })
    await expect(collect(decodeEventStream(body))).rejects.toMatchObject({ status: 502, origin: 'upstream' })
  })

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(frame('a', '1'))
        controller.enqueue(frame('b', '2'))
      },
      cancel() {
        cancelled = true
      },
    })
    for await (const _ of decodeEventStream(body)) break
    expect(cancelled).toBe(true)
  })
})
