import { type JsonMode, jsonContent, unwrapsProperties } from './converse-json-mode'

/** The start of an answer wrapped in `{"properties": …}` (see `jsonContent`), whitespace removed. */
const WRAPPER = '{"properties":'

/**
 * The JSON-mode schema tool's streamed input, turned into content deltas. Fragments are passed on as
 * they arrive, except while the start could still be the `{"properties": …}` wrapper the
 * non-streaming mapping unwraps: that much is held back, and a wrapped answer is sent in one piece
 * at the end of the block, unwrapped, so streaming and non-streaming answers agree.
 */
export class JsonToolContent {
  private held = ''
  private state: 'deciding' | 'streaming' | 'wrapped'
  private sent = false

  constructor(private readonly mode: JsonMode) {
    this.state = unwrapsProperties(mode) ? 'deciding' : 'streaming'
  }

  /** Content to send for one input fragment ('' while holding back). */
  add(fragment: string): string {
    if (this.state === 'streaming') return this.send(fragment)
    this.held += fragment
    if (this.state === 'wrapped') return ''
    const compact = this.held.replace(/\s+/g, '')
    if (WRAPPER.startsWith(compact)) return ''
    if (compact.startsWith(WRAPPER)) {
      this.state = 'wrapped'
      return ''
    }
    this.state = 'streaming'
    const out = this.held
    this.held = ''
    return this.send(out)
  }

  /** Content to send when the block ends: what was held back, or `{}` for a call without input. */
  end(): string {
    if (this.state === 'streaming') return this.sent ? '' : '{}'
    const held = this.held
    this.held = ''
    this.state = 'streaming'
    if (held.trim() === '') return this.send('{}')
    try {
      return this.send(jsonContent(JSON.parse(held), this.mode))
    } catch {
      // Not JSON after all (a truncated answer): pass on what the model wrote.
      return this.send(held)
    }
  }

  private send(content: string): string {
    if (content !== '') this.sent = true
    return content
  }
}
