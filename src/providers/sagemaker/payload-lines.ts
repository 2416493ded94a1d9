import { sagemakerBadReply } from './errors'

/**
 * InvokeEndpointWithResponseStream delivers the container's response bytes in `PayloadPart` events
 * whose boundaries are arbitrary (protocols.md 3.4): one SSE or JSON line can span several parts, a
 * part can hold several lines, and a multi-byte UTF-8 character can be cut in two. So parts are
 * decoded with one streaming UTF-8 decoder into a text buffer, and only complete lines are handed on.
 */
export class LineReassembler {
  private readonly decoder = new TextDecoder('utf-8')
  private pending = ''

  /** Adds the bytes of one PayloadPart; returns the lines they complete (without `\n` / `\r\n`). */
  push(bytes: Uint8Array): string[] {
    this.pending += this.decoder.decode(bytes, { stream: true })
    return this.takeLines()
  }

  /** End of the stream: whatever follows the last newline is a line too. */
  end(): string[] {
    this.pending += this.decoder.decode()
    const lines = this.takeLines()
    if (this.pending !== '') lines.push(this.pending.replace(/\r$/, ''))
    this.pending = ''
    return lines
  }

  private takeLines(): string[] {
    const parts = this.pending.split('\n')
    this.pending = parts.pop() ?? ''
    return parts.map((line) => line.replace(/\r$/, ''))
  }
}

/** One thing a line of the container's stream says. */
export type PayloadEvent = { kind: 'json'; value: unknown } | { kind: 'done' }

/** A JSON value split over lines must fit this; a container that never closes it is broken. */
const MAX_PENDING_CHARS = 1024 * 1024

/**
 * Lines → JSON payloads, for the three framings containers use: SSE `data:{…}` (TGI, no space) and
 * `data: {…}` (OpenAI-style servers), bare JSON Lines (DJL LMI), and the `data: [DONE]` terminator.
 * SSE comments and `event:`/`id:`/`retry:` fields are skipped. A payload that does not parse yet
 * is joined with the next data line (SSE's multi-line data, or JSON pretty-printed over lines, which
 * LiteLLM also buffers until it parses); one still incomplete at an event boundary (blank line) or at
 * the end of the stream is a broken reply.
 */
export class PayloadLineParser {
  private buffer: string | undefined

  line(line: string): PayloadEvent[] {
    if (line.trim() === '') {
      this.checkComplete('an SSE event ended inside a JSON payload')
      return []
    }
    if (line.startsWith(':') || /^(event|id|retry):/.test(line)) return []
    const payload = line.startsWith('data:') ? line.slice(5).replace(/^ /, '') : line
    if (this.buffer === undefined && payload.trim() === '[DONE]') return [{ kind: 'done' }]
    const text = this.buffer === undefined ? payload : `${this.buffer}\n${payload}`
    try {
      const value: unknown = JSON.parse(text)
      this.buffer = undefined
      return [{ kind: 'json', value }]
    } catch {
      if (text.length > MAX_PENDING_CHARS) {
        throw sagemakerBadReply('the streamed payload holds a line that is not JSON.')
      }
      this.buffer = text
      return []
    }
  }

  end(): void {
    this.checkComplete('the stream ended inside a JSON payload')
  }

  private checkComplete(detail: string): void {
    if (this.buffer !== undefined) {
      this.buffer = undefined
      throw sagemakerBadReply(`${detail}.`)
    }
  }
}
