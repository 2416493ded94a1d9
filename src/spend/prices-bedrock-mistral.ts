import { B, C, chatEntries } from './prices-types'

/*
 * Mistral on Bedrock, on-demand prices as in LiteLLM's price map (USD per token).
 * Row: [provider, input, output, max input, max output]. Pixtral Large is only offered through
 * cross-region profiles, so LiteLLM keys it (and so do we) with the `us.` / `eu.` prefix.
 */
export const MISTRAL_PRICES = chatEntries({
  'mistral.mistral-7b-instruct-v0:2': [B, 1.5e-7, 2e-7, 32_000, 8191],
  'mistral.mixtral-8x7b-instruct-v0:1': [B, 4.5e-7, 7e-7, 32_000, 8191],
  'mistral.mistral-small-2402-v1:0': [B, 1e-6, 3e-6, 32_000, 8191],
  'mistral.mistral-large-2402-v1:0': [B, 8e-6, 2.4e-5, 32_000, 8191],
  'mistral.mistral-large-2407-v1:0': [B, 3e-6, 9e-6, 128_000, 8191],
  'us.mistral.pixtral-large-2502-v1:0': [C, 2e-6, 6e-6, 128_000, 4096],
  'eu.mistral.pixtral-large-2502-v1:0': [C, 2e-6, 6e-6, 128_000, 4096],
})
