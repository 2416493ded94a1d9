/** One server-sent event: its `event:` name (if any) and its `data:` lines joined with `\n`. */
export interface SseEvent {
  event: string | undefined
  data: string
}

/**
 * Server-sent events from a byte stream, as the WHATWG EventSource parser reads them: lines end in
 * `\n`, `\r\n` or `\r` (a `\r\n` may be split across chunks, and so may UTF-8 characters), a blank
 * line dispatches the event, `:` lines are comments (keep-alives), several `data:` lines are one
 * payload. An event left without its blank line when the body ends is still dispatched: some servers
 * end the body right after the last `data:` line.
 *
 * Pulls the body lazily, so a slow consumer slows the upstream read; stopping early cancels the body.
 * A read that fails (connection reset mid-stream) throws what `readFailure` makes of it, unless
 * `signal` aborted the read: that abort is the caller's own and passes through untouched.
 */
export async function* sseEvents(
  body: ReadableStream<Uint8Array>,
  options: { signal?: AbortSignal; readFailure?: (error: unknown) => unknown } = {},
): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let data: string[] = []
  let event: string | undefined
  let finished = false

  function* takeLine(line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length > 0) yield { event, data: data.join('\n') }
      data = []
      event = undefined
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
  }

  /** Complete lines in the buffer; a trailing `\r` waits for the next chunk (it may be half of `\r\n`). */
  function* drain(final: boolean): Generator<SseEvent> {
    for (;;) {
      const match = /\r\n|\n|\r/.exec(buffer)
      if (!match) break
      if (match[0] === '\r' && match.index === buffer.length - 1 && !final) break
      const line = buffer.slice(0, match.index)
      buffer = buffer.slice(match.index + match[0].length)
      yield* takeLine(line)
    }
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
      buffer += decoder.decode(value, { stream: true })
      yield* drain(false)
    }
    buffer += decoder.decode()
    yield* drain(true)
    if (buffer !== '') yield* takeLine(buffer)
    buffer = ''
    yield* takeLine('')
    finished = true
  } finally {
    // Stopped early (the consumer returned, or threw): the rest of the body is not wanted.
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
