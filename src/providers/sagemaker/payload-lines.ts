import { sagemakerBadReply } from './errors'

/**
 * The longest line (or JSON value spread over lines) a container may send. A TGI token event is a
 * few hundred bytes and a whole non-streamed answer rarely more than a few hundred KB; a container
 * that never ends its line is broken, and holding its output would let it exhaust the gateway's memory.
 */
export const MAX_LINE_CHARS = 1024 * 1024

/**
 * InvokeEndpointWithResponseStream delivers the container's response bytes in `PayloadPart` events
 * whose boundaries are arbitrary (protocols.md 3.4): one SSE or JSON line can span several parts, a
 * part can hold several lines, and a multi-byte UTF-8 character can be cut in two. So parts are
 * decoded with one streaming UTF-8 decoder, and only complete lines are handed on.
 *
 * Only the newly decoded text is searched for newlines and the unfinished line is kept as pieces
 * joined once, so a long line arriving in many small parts costs linear, not quadratic, time; a
 * line longer than MAX_LINE_CHARS is a 502 (thrown from `push`, which ends the upstream read).
 */
export class LineReassembler {
  private readonly decoder = new TextDecoder('utf-8')
  private pieces: string[] = []
  private pendingChars = 0

  /** Adds the bytes of one PayloadPart; returns the lines they complete (without `\n` / `\r\n`). */
  push(bytes: Uint8Array): string[] {
    return this.add(this.decoder.decode(bytes, { stream: true }))
  }

  /** End of the stream: whatever follows the last newline is a line too. */
  end(): string[] {
    const lines = this.add(this.decoder.decode())
    if (this.pendingChars > 0) lines.push(this.takePending(''))
    return lines
  }

  private add(text: string): string[] {
    const lines: string[] = []
    let start = 0
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      lines.push(this.takePending(text.slice(start, newline)))
      start = newline + 1
    }
    const rest = text.slice(start)
    if (rest !== '') {
      this.pendingChars += rest.length
      if (this.pendingChars > MAX_LINE_CHARS) {
        this.pieces = []
        this.pendingChars = 0
        throw sagemakerBadReply(`the streamed payload holds a line longer than ${MAX_LINE_CHARS} characters.`)
      }
      this.pieces.push(rest)
    }
    return lines
  }

  /** The unfinished line completed by `last`, without a trailing `\r`. */
  private takePending(last: string): string {
    const line = this.pieces.length === 0 ? last : this.pieces.join('') + last
    this.pieces = []
    this.pendingChars = 0
    return line.endsWith('\r') ? line.slice(0, -1) : line
  }
}

/** One thing a line of the container's stream says. */
export type PayloadEvent = { kind: 'json'; value: unknown } | { kind: 'done' }

/**
 * Where a JSON value fed in pieces ends: bracket depth outside strings, scanned once per character,
 * so a value spread over many lines is parsed once, when it closes, not once per line.
 */
class JsonDepth {
  private depth = 0
  private inString = false
  private escaped = false

  /** Scans more of the value; true once every bracket it opened is closed. */
  feed(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) this.inString = false
      } else if (c === QUOTE) this.inString = true
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) this.depth--
    }
    return this.depth <= 0 && !this.inString
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/**
 * Lines → JSON payloads, for the three framings containers use: SSE `data:{…}` (TGI, no space) and
 * `data: {…}` (OpenAI-style servers), bare JSON Lines (DJL LMI), and the `data: [DONE]` terminator.
 * SSE comments (keep-alives) and `event:`/`id:`/`retry:` fields are skipped.
 *
 * A payload that is not complete yet is joined with the next data line (SSE's multi-line data, or
 * JSON pretty-printed over lines, which LiteLLM also buffers until it parses); one still open at an
 * event boundary (blank line) or at the end of the stream is a broken reply. A payload must open
 * with `{` or `[` (every container streams objects, TGI's whole-answer fallback a list): any other
 * line is a 502 at once, rather than being buffered in the hope that it parses later and swallowing
 * every JSON line after it. So is a value that closes but does not parse, or outgrows MAX_LINE_CHARS.
 */
export class PayloadLineParser {
  private pending: { parts: string[]; chars: number; depth: JsonDepth } | undefined

  line(line: string): PayloadEvent[] {
    if (line.trim() === '') {
      this.checkComplete('an SSE event ended inside a JSON payload')
      return []
    }
    if (line.startsWith(':') || /^(event|id|retry):/.test(line)) return []
    const payload = line.startsWith('data:') ? line.slice(5).replace(/^ /, '') : line
    let pending = this.pending
    if (pending === undefined) {
      const opening = payload.trim()
      if (opening === '[DONE]') return [{ kind: 'done' }]
      if (!opening.startsWith('{') && !opening.startsWith('[')) {
        throw sagemakerBadReply('the streamed payload holds a line that is not JSON.')
      }
      pending = { parts: [], chars: 0, depth: new JsonDepth() }
      this.pending = pending
    }
    pending.parts.push(payload)
    pending.chars += payload.length + 1
    if (pending.chars > MAX_LINE_CHARS) {
      this.pending = undefined
      throw sagemakerBadReply('the streamed payload holds a JSON value that never ends.')
    }
    if (!pending.depth.feed(payload)) return []
    this.pending = undefined
    try {
      return [{ kind: 'json', value: JSON.parse(pending.parts.join('\n')) as unknown }]
    } catch {
      throw sagemakerBadReply('the streamed payload holds a line that is not JSON.')
    }
  }

  end(): void {
    this.checkComplete('the stream ended inside a JSON payload')
  }

  private checkComplete(detail: string): void {
    if (this.pending !== undefined) {
      this.pending = undefined
      throw sagemakerBadReply(`${detail}.`)
    }
  }
}
