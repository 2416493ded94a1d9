/**
 * One entry of the bundled price table, in the shape of LiteLLM's `model_prices_and_context_window.json`
 * (USD per token or per second). Only the fields this gateway prices with are carried; LiteLLM's
 * `supports_*` flags, `*_above_200k_tokens` tiers and per-image costs are left out on purpose (the
 * gateway neither routes on the flags nor bills images yet).
 */
export interface PriceEntry {
  input_cost_per_token?: number
  output_cost_per_token?: number
  cache_read_input_token_cost?: number
  cache_creation_input_token_cost?: number
  input_cost_per_second?: number
  output_cost_per_second?: number
  max_input_tokens?: number
  max_output_tokens?: number
  /** LiteLLM's legacy field: max output tokens for chat models, max input tokens for embeddings. */
  max_tokens?: number
  litellm_provider: 'bedrock' | 'bedrock_converse' | 'openai'
  mode: 'chat' | 'embedding'
}

/** `bedrock` = LiteLLM's Invoke-era entries, `bedrock_converse` = entries added for the Converse API. */
export const B = 'bedrock'
export const C = 'bedrock_converse'
/** OpenAI's own API (`openai/` deployments). */
export const O = 'openai'

type Provider = typeof B | typeof C | typeof O

/**
 * `[provider, input, output, max input, max output, cache read, cache write]`, per token in USD.
 * A positional row keeps each model on one reviewable line (the named-field objects run to ten lines
 * each); `chatEntries` expands it to LiteLLM's field names.
 */
export type ChatRow = readonly [
  provider: Provider,
  input: number,
  output: number,
  maxInput: number,
  maxOutput: number,
  cacheRead?: number,
  cacheWrite?: number,
]

/** `[provider, input per token, max input tokens]`; embeddings have no output tokens (LiteLLM lists 0). */
export type EmbeddingRow = readonly [provider: Provider, input: number, maxInput: number]

type Table = Record<string, Readonly<PriceEntry>>

export function chatEntries(rows: Record<string, ChatRow>): Table {
  const table: Table = {}
  for (const [key, [provider, input, output, maxInput, maxOutput, cacheRead, cacheWrite]] of Object.entries(
    rows,
  )) {
    const entry: PriceEntry = {
      input_cost_per_token: input,
      output_cost_per_token: output,
      max_input_tokens: maxInput,
      max_output_tokens: maxOutput,
      max_tokens: maxOutput,
      litellm_provider: provider,
      mode: 'chat',
    }
    if (cacheRead !== undefined) entry.cache_read_input_token_cost = cacheRead
    if (cacheWrite !== undefined) entry.cache_creation_input_token_cost = cacheWrite
    table[key] = Object.freeze(entry)
  }
  return table
}

export function embeddingEntries(rows: Record<string, EmbeddingRow>): Table {
  const table: Table = {}
  for (const [key, [provider, input, maxInput]] of Object.entries(rows)) {
    table[key] = Object.freeze({
      input_cost_per_token: input,
      output_cost_per_token: 0,
      max_input_tokens: maxInput,
      max_tokens: maxInput,
      litellm_provider: provider,
      mode: 'embedding',
    })
  }
  return table
}
