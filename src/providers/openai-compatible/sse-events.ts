import { GatewayError } from '../../errors'

/** One server-sent event: its `event:` name (if any) and its `data:` lines joined with `\n`. */
export interface SseEvent {
  event: string | undefined
  data: string
}

/**
 * The longest line, and the most `data` one event may carry. A chat chunk is a few hundred bytes;
 * an upstream that never ends a line or an event is broken, and buffering it would let it exhaust
 * the gateway's memory.
 */
export const MAX_SSE_LINE_CHARS = 1024 * 1024
export const MAX_SSE_EVENT_CHARS = 1024 * 1024

export interface SseOptions {
  signal?: AbortSignal
  /** The error a failed read becomes (unless `signal` aborted it). */
  readFailure?: (error: unknown) => unknown
  /** The error for a line or event over its limit (default: a plain 502). */
  tooLarge?: (detail: string) => unknown
}

const defaultTooLarge = (detail: string): GatewayError =>
  new GatewayError({ status: 502, message: `litellm.BadGatewayError: ${detail}`, origin: 'upstream' })

/**
 * Server-sent events from a byte stream, as the WHATWG EventSource parser reads them: lines end in
 * `\n`, `\r\n` or `\r` (a `\r\n` may be split across chunks, and so may UTF-8 characters), a blank
 * line dispatches the event, `:` lines are comments (keep-alives), several `data:` lines are one
 * payload. An event left without its blank line when the body ends is still dispatched: some servers
 * end the body right after the last `data:` line.
 *
 * Only newly decoded text is searched for line breaks and an unfinished line is kept as pieces
 * joined once, so a long line in many small chunks costs linear time. A line over
 * MAX_SSE_LINE_CHARS, or an event whose data passes MAX_SSE_EVENT_CHARS, throws `tooLarge` and
 * cancels the body.
 *
 * Pulls the body lazily, so a slow consumer slows the upstream read; stopping early cancels the body.
 * A read that fails (connection reset mid-stream) throws what `readFailure` makes of it, unless
 * `signal` aborted the read: that abort is the caller's own and passes through untouched.
 */
export async function* sseEvents(
  body: ReadableStream<Uint8Array>,
  options: SseOptions = {},
): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const tooLarge = options.tooLarge ?? defaultTooLarge
  let pieces: string[] = []
  let pendingChars = 0
  /** The last chunk ended in `\r`: a `\n` opening the next one belongs to it. */
  let skipLineFeed = false
  let data: string[] = []
  let dataChars = 0
  let event: string | undefined
  let finished = false

  function* takeLine(line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length > 0) yield { event, data: data.join('\n') }
      data = []
      dataChars = 0
      event = undefined
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') {
      dataChars += value.length + 1
      if (dataChars > MAX_SSE_EVENT_CHARS) {
        throw tooLarge(`the stream sent an event with more than ${MAX_SSE_EVENT_CHARS} characters of data.`)
      }
      data.push(value)
    } else if (field === 'event') event = value
  }

  /** The unfinished line completed by `last`. */
  function takePending(last: string): string {
    const line = pieces.length === 0 ? last : pieces.join('') + last
    pieces = []
    pendingChars = 0
    return line
  }

  /** The lines `text` completes; the rest waits for the next chunk. */
  function* feed(text: string): Generator<SseEvent> {
    if (text === '') return
    let start = 0
    if (skipLineFeed && text.startsWith('\n')) start = 1
    skipLineFeed = false
    const lineBreak = /\r\n|\r|\n/g
    lineBreak.lastIndex = start
    for (let match = lineBreak.exec(text); match !== null; match = lineBreak.exec(text)) {
      const end = match.index + match[0].length
      if (match[0] === '\r' && end === text.length) skipLineFeed = true
      const line = takePending(text.slice(start, match.index))
      start = end
      yield* takeLine(line)
    }
    const rest = text.slice(start)
    if (rest === '') return
    pendingChars += rest.length
    if (pendingChars > MAX_SSE_LINE_CHARS) {
      throw tooLarge(`the stream sent a line longer than ${MAX_SSE_LINE_CHARS} characters.`)
    }
    pieces.push(rest)
  }

  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        finished = true
        if (options.signal?.aborted || options.readFailure === undefined) throw error
        throw options.readFailure(error)
      }
      const { value, done } = result
      if (done) break
      yield* feed(decoder.decode(value, { stream: true }))
    }
    yield* feed(decoder.decode())
    if (pendingChars > 0) yield* takeLine(takePending(''))
    yield* takeLine('')
    finished = true
  } finally {
    // Stopped early (the consumer returned, or threw) or failed: the rest of the body is not wanted.
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
