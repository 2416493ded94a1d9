import { chatEntries, embeddingEntries, O } from './prices-types'

/*
 * OpenAI's own models, for `openai/` deployments only, at the prices of LiteLLM's price map
 * (`model_prices_and_context_window.json`, litellm_provider "openai"; USD per token, standard tier).
 * Dated snapshots are listed where LiteLLM prices them like the alias (gpt-4o-2024-05-13 is not:
 * it is left out rather than mispriced). Row: [provider, input, output, max input, max output,
 * cache read]. OpenAI bills no cache writes.
 */
const GPT_4O = [O, 2.5e-6, 1e-5, 128_000, 16_384, 1.25e-6] as const
const GPT_4O_MINI = [O, 1.5e-7, 6e-7, 128_000, 16_384, 7.5e-8] as const
const GPT_41 = [O, 2e-6, 8e-6, 1_047_576, 32_768, 5e-7] as const
const GPT_41_MINI = [O, 4e-7, 1.6e-6, 1_047_576, 32_768, 1e-7] as const
const GPT_41_NANO = [O, 1e-7, 4e-7, 1_047_576, 32_768, 2.5e-8] as const
const O3 = [O, 2e-6, 8e-6, 200_000, 100_000, 5e-7] as const
const O3_MINI = [O, 1.1e-6, 4.4e-6, 200_000, 100_000, 5.5e-7] as const
const O4_MINI = [O, 1.1e-6, 4.4e-6, 200_000, 100_000, 2.75e-7] as const

export const OPENAI_PRICES = chatEntries({
  'gpt-4o': GPT_4O,
  'gpt-4o-2024-08-06': GPT_4O,
  'gpt-4o-2024-11-20': GPT_4O,
  'gpt-4o-mini': GPT_4O_MINI,
  'gpt-4o-mini-2024-07-18': GPT_4O_MINI,
  'gpt-4.1': GPT_41,
  'gpt-4.1-2025-04-14': GPT_41,
  'gpt-4.1-mini': GPT_41_MINI,
  'gpt-4.1-mini-2025-04-14': GPT_41_MINI,
  'gpt-4.1-nano': GPT_41_NANO,
  'gpt-4.1-nano-2025-04-14': GPT_41_NANO,
  o3: O3,
  'o3-2025-04-16': O3,
  'o3-mini': O3_MINI,
  'o3-mini-2025-01-31': O3_MINI,
  'o4-mini': O4_MINI,
  'o4-mini-2025-04-16': O4_MINI,
})

/** Row: [provider, input per token, max input tokens]. */
export const OPENAI_EMBEDDING_PRICES = embeddingEntries({
  'text-embedding-3-small': [O, 2e-8, 8191],
  'text-embedding-3-large': [O, 1.3e-7, 8191],
  'text-embedding-ada-002': [O, 1e-7, 8191],
})
