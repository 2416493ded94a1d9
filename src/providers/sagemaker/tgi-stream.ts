import type { FinishReason } from '../../openai/chat-response'
import type { ChatDelta } from '../types'
import { containerStreamError, sagemakerBadReply } from './errors'
import type { PayloadEvent } from './payload-lines'
import { tgiFinishReason, tgiUsage, withoutEcho } from './tgi-response'

/**
 * A text-generation container's stream → ChatDelta, as LiteLLM's SageMaker stream decoder:
 * - TGI: one `{"token": {"text", "special"}, "generated_text": null | "<all>", "details": …}` per
 *   token; special tokens (`</s>`, `<|eot_id|>`) and `<|endoftext|>` are not text; the last event
 *   carries `generated_text` (and, with `details: true`, the finish reason and token counts);
 * - DJL LMI JSON Lines: `{"token": {"text"}}` …, the last line with `generated_text`;
 * - old JumpStart containers: `{"outputs": ["…"]}` or `{"generation": "…"}` pieces;
 * - a container that ignored `"stream": true` and sent its whole answer (`[{"generated_text"}]`).
 * The final delta carries the finish reason and the usage (estimated: tgiUsage).
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

/** LiteLLM stops on this one as if it were a special token (some containers flag it as plain text). */
const END_OF_TEXT = '<|endoftext|>'

class TgiStreamState {
  text = ''
  tokens = 0
  /** A TGI/LMI token stream was seen, so its closing event is expected. */
  tokenStream = false
  finished = false
  finishReason: FinishReason = 'stop'
  promptTokens: number | undefined
  completionTokens: number | undefined

  constructor(readonly prompt: string) {}

  /** The text an event adds, if any; records the end markers it carries. */
  read(value: unknown): string | undefined {
    const error = containerStreamError(value)
    if (error) throw error
    if (Array.isArray(value)) return this.whole(value[0])
    if (!isRecord(value)) return undefined
    if (isRecord(value.details)) this.details(value.details)
    if (isRecord(value.token)) {
      this.tokenStream = true
      if (typeof value.generated_text === 'string') this.finished = true
      const token = value.token
      if (token.special === true || typeof token.text !== 'string' || token.text === END_OF_TEXT)
        return undefined
      this.tokens++
      return token.text
    }
    if (Array.isArray(value.outputs)) return value.outputs.filter((o) => typeof o === 'string').join('')
    if (typeof value.generation === 'string') return value.generation
    if (typeof value.generated_text === 'string') {
      // LMI's closing line repeats the whole text; only a stream without tokens needs it.
      if (this.tokenStream) {
        this.finished = true
        return undefined
      }
      return this.whole(value)
    }
    return undefined
  }

  private whole(choice: unknown): string | undefined {
    if (!isRecord(choice) || typeof choice.generated_text !== 'string') return undefined
    if (isRecord(choice.details)) this.details(choice.details)
    this.finished = true
    return withoutEcho(choice.generated_text, this.prompt)
  }

  private details(details: Record<string, unknown>): void {
    if (details.finish_reason !== undefined && details.finish_reason !== null) {
      this.finishReason = tgiFinishReason(details.finish_reason)
      this.finished = true
    }
    this.completionTokens = count(details.generated_tokens) ?? this.completionTokens
    this.promptTokens = count(details.input_length) ?? this.promptTokens
  }
}

export async function* tgiStreamDeltas(
  events: AsyncIterable<PayloadEvent>,
  prompt: string,
): AsyncGenerator<ChatDelta> {
  const state = new TgiStreamState(prompt)
  for await (const event of events) {
    if (event.kind === 'done') {
      state.finished = true
      break
    }
    const text = state.read(event.value)
    if (text !== undefined && text !== '') {
      state.text += text
      yield { content: text }
    }
  }
  // Frames ended cleanly but TGI's closing event never came: the stream was cut between frames.
  if (state.tokenStream && !state.finished) {
    throw sagemakerBadReply('the stream ended before the final generated_text event.')
  }
  yield {
    finishReason: state.finishReason,
    usage: tgiUsage(state.prompt, state.text, {
      prompt: state.promptTokens,
      completion: state.completionTokens ?? (state.tokenStream ? state.tokens : undefined),
    }),
  }
}
