import { describe, expect, it } from 'vitest'
import { type SseEvent, sseEvents } from '../../src/providers/openai-compatible/sse-events'
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
})
