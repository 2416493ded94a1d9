import { GatewayError } from '../../errors'
import type { FinishReason, Usage } from '../../openai/chat-response'
import { tokensForChars } from '../../spend/usage-estimate'
import type { ChatOutput } from '../types'

/**
 * TGI / JumpStart text-generation answers → ChatOutput, as LiteLLM's `SagemakerConfig.transform_response`.
 * Shapes accepted (protocols.md 3.5): TGI's `[{"generated_text": …, "details"?: {…}}]`, DJL LMI's bare
 * object `{"generated_text": …}`, and the old JumpStart Llama 2 `[{"generation": …}]` (a string, or
 * `{"role", "content"}`).
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** TGI's `details.finish_reason`: `length`, `eos_token`, `stop_sequence`. */
export function tgiFinishReason(reason: unknown): FinishReason {
  return reason === 'length' ? 'length' : 'stop'
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

/**
 * Usage for a text-generation call. These containers report no prompt count, so, as LiteLLM (which
 * runs a tokenizer locally), the gateway counts: an ESTIMATE of one token per 4 characters of the
 * rendered prompt (template markers included) and of the generated text. Exact counts win when the
 * container sends them: TGI's `details.generated_tokens` (with `details: true`) and its streamed
 * `details.input_length`, or the number of streamed tokens (TGI sends one event per token).
 */
export function tgiUsage(
  prompt: string,
  completion: string,
  exact: { prompt?: number; completion?: number } = {},
): Usage {
  const promptTokens = exact.prompt ?? Math.max(1, tokensForChars(prompt.length))
  const completionTokens = exact.completion ?? tokensForChars(completion.length)
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  }
}

function generatedText(choice: Record<string, unknown>): string | undefined {
  if (typeof choice.generated_text === 'string') return choice.generated_text
  const generation = choice.generation
  if (typeof generation === 'string') return generation
  if (isRecord(generation) && typeof generation.content === 'string') return generation.content
  return undefined
}

/** A container that echoes the prompt (`return_full_text: true`) gets it cut off, as LiteLLM does. */
export function withoutEcho(text: string, prompt: string): string {
  return prompt !== '' && text.startsWith(prompt) ? text.slice(prompt.length) : text
}

export function tgiOutput(json: unknown, prompt: string): ChatOutput {
  const choice = Array.isArray(json) ? json[0] : json
  const raw = isRecord(choice) ? generatedText(choice) : undefined
  if (raw === undefined) {
    throw new GatewayError({
      status: 502,
      message:
        'litellm.BadGatewayError: SagemakerException - Unable to parse sagemaker RAW RESPONSE: expected [{"generated_text": ...}] or {"generated_text": ...} from the text-generation container.',
      origin: 'upstream',
    })
  }
  const text = withoutEcho(raw, prompt)
  const details = isRecord(choice) && isRecord(choice.details) ? choice.details : {}
  return {
    message: { role: 'assistant', content: text },
    finishReason: tgiFinishReason(details.finish_reason),
    usage: tgiUsage(prompt, text, { completion: count(details.generated_tokens) }),
  }
}
