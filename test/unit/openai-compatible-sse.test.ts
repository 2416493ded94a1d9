import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import {
  MAX_SSE_EVENT_CHARS,
  MAX_SSE_LINE_CHARS,
  type SseEvent,
  sseEvents,
} from '../../src/providers/openai-compatible/sse-events'
import { AWKWARD_PATTERN, splitAwkwardly } from '../fakes/event-stream'

const encoder = new TextEncoder()

/** A body delivering `pieces` one per read, recording whether it was cancelled. */
function body(pieces: Uint8Array[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false
  let i = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[i++]
      if (piece === undefined) controller.close()
      else controller.enqueue(piece)
    },
    cancel() {
      cancelled = true
    },
  })
  return { stream, cancelled: () => cancelled }
}

async function collect(pieces: Uint8Array[]): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const event of sseEvents(body(pieces).stream)) events.push(event)
  return events
}

const TEXT =
  ': keep-alive\n\n' +
  'data: {"a":"héllo 😀"}\n\n' +
  'event: error\ndata: {"error":{"message":"x"}}\n\n' +
  'data: line one\ndata: line two\n\n' +
  ':ping\r\n\r\n' +
  'data:no-space\r\n\r\n' +
  'data: [DONE]\n\n'

const EXPECTED: SseEvent[] = [
  { event: undefined, data: '{"a":"héllo 😀"}' },
  { event: 'error', data: '{"error":{"message":"x"}}' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: 'no-space' },
  { event: undefined, data: '[DONE]' },
]

describe('sseEvents', () => {
  it('reads events, comments, event names and multi-line data from one chunk', async () => {
    expect(await collect([encoder.encode(TEXT)])).toEqual(EXPECTED)
  })

  it('gives the same events whatever the byte boundaries (inside UTF-8 characters and CRLF pairs)', async () => {
    const bytes = encoder.encode(TEXT)
    for (const pattern of [[1], [2], [3], AWKWARD_PATTERN, [5, 1, 1, 17]]) {
      expect(await collect(splitAwkwardly(bytes, pattern))).toEqual(EXPECTED)
    }
  })

  it('treats a lone CR as a line end, also when the LF never follows', async () => {
    const pieces = [encoder.encode('data: a\r'), encoder.encode('\rdata: b\r\r')]
    expect(await collect(pieces)).toEqual([
      { event: undefined, data: 'a' },
      { event: undefined, data: 'b' },
    ])
  })

  it('does not split a CRLF that straddles two chunks into two line ends', async () => {
    // `data: a\r` + `\ndata: b\n\n`: a split CRLF read as two ends would dispatch `a` alone.
    const pieces = [encoder.encode('data: a\r'), encoder.encode('\ndata: b\n\n')]
    expect(await collect(pieces)).toEqual([{ event: undefined, data: 'a\nb' }])
  })

  it('dispatches a last event whose blank line never came', async () => {
    expect(await collect([encoder.encode('data: {"x":1}\n\ndata: {"y":2}')])).toEqual([
      { event: undefined, data: '{"x":1}' },
      { event: undefined, data: '{"y":2}' },
    ])
  })

  it('yields nothing for a body of comments only', async () => {
    expect(await collect([encoder.encode(': ping\n\n: ping\n\n')])).toEqual([])
  })

  it('cancels the body when the consumer stops early', async () => {
    const { stream, cancelled } = body([encoder.encode('data: 1\n\n'), encoder.encode('data: 2\n\n')])
    for await (const event of sseEvents(stream)) {
      expect(event.data).toBe('1')
      break
    }
    expect(cancelled()).toBe(true)
  })

  it('does not cancel a body it read to the end', async () => {
    const { stream, cancelled } = body([encoder.encode('data: 1\n\n')])
    for await (const _ of sseEvents(stream)) {
      // read everything
    }
    expect(cancelled()).toBe(false)
  })

  it('refuses a line that never ends once it passes 1 MB, and cancels the body', async () => {
    let cancelled = false
    let served = 0
    const chunk = encoder.encode(`data: ${'x'.repeat(256 * 1024)}`)
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        served += chunk.byteLength
        controller.enqueue(chunk)
      },
      cancel() {
        cancelled = true
      },
    })
    const error = await (async () => {
      for await (const _ of sseEvents(stream, { tooLarge: (detail) => new Error(`too large: ${detail}`) })) {
        // never reached
      }
    })().catch((e: unknown) => e)
    expect(String(error)).toMatch(/too large: the stream sent a line longer than 1048576 characters/)
    expect(cancelled).toBe(true)
    expect(served).toBeLessThan(MAX_SSE_LINE_CHARS + 2 * chunk.byteLength)
  })

  it('refuses an event whose data lines add up past 1 MB (a 502 GatewayError by default)', async () => {
    const line = encoder.encode(`data: ${'y'.repeat(64 * 1024)}\n`)
    const { stream, cancelled } = body(Array.from({ length: 40 }, () => line))
    const error = await (async () => {
      for await (const _ of sseEvents(stream)) {
        // never reached: the blank line never comes
      }
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect(error).toMatchObject({ status: 502 })
    expect(String((error as GatewayError).message)).toMatch(
      /^litellm\.BadGatewayError: .*event with more than/,
    )
    expect(cancelled()).toBe(true)
    expect(MAX_SSE_EVENT_CHARS).toBe(1024 * 1024)
  })

  it('reads a long line sent a byte at a time in linear time', async () => {
    const bytes = encoder.encode(`data: ${'z'.repeat(512 * 1024)}\n\n`)
    const pieces = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1))
    const started = performance.now()
    const events = await collect(pieces)
    // Searching the whole buffer for a line break per chunk (the old way) takes minutes here.
    expect(performance.now() - started).toBeLessThan(15_000)
    expect(events).toHaveLength(1)
    expect(events[0]?.data.length).toBe(512 * 1024)
  }, 60_000)
})
