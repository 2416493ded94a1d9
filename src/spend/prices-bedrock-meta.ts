import { B, C, chatEntries } from './prices-types'

/*
 * Meta Llama on Bedrock, on-demand prices as in LiteLLM's price map (USD per token).
 * Row: [provider, input, output, max input, max output].
 *
 * LiteLLM lists `us.` profiles of Llama 3.1+ at the base price, so only the `eu.` ones that differ
 * are repeated; the lookup strips any other cross-region prefix.
 */
export const META_PRICES = chatEntries({
  'meta.llama2-13b-chat-v1': [B, 7.5e-7, 1e-6, 4096, 4096],
  'meta.llama2-70b-chat-v1': [B, 1.95e-6, 2.56e-6, 4096, 4096],
  'meta.llama3-8b-instruct-v1:0': [B, 3e-7, 6e-7, 8192, 8192],
  'meta.llama3-70b-instruct-v1:0': [B, 2.65e-6, 3.5e-6, 8192, 8192],
  'meta.llama3-1-8b-instruct-v1:0': [B, 2.2e-7, 2.2e-7, 128_000, 2048],
  'meta.llama3-1-70b-instruct-v1:0': [B, 9.9e-7, 9.9e-7, 128_000, 2048],
  'meta.llama3-1-405b-instruct-v1:0': [B, 5.32e-6, 1.6e-5, 128_000, 4096],
  'meta.llama3-2-1b-instruct-v1:0': [B, 1e-7, 1e-7, 128_000, 4096],
  'meta.llama3-2-3b-instruct-v1:0': [B, 1.5e-7, 1.5e-7, 128_000, 4096],
  'meta.llama3-2-11b-instruct-v1:0': [B, 3.5e-7, 3.5e-7, 128_000, 4096],
  'meta.llama3-2-90b-instruct-v1:0': [B, 2e-6, 2e-6, 128_000, 4096],
  'meta.llama3-3-70b-instruct-v1:0': [C, 7.2e-7, 7.2e-7, 128_000, 4096],
  'meta.llama4-scout-17b-instruct-v1:0': [C, 1.7e-7, 6.6e-7, 128_000, 4096],
  'meta.llama4-maverick-17b-instruct-v1:0': [C, 2.4e-7, 9.7e-7, 128_000, 4096],
  'eu.meta.llama3-2-1b-instruct-v1:0': [B, 1.3e-7, 1.3e-7, 128_000, 4096],
  'eu.meta.llama3-2-3b-instruct-v1:0': [B, 1.9e-7, 1.9e-7, 128_000, 4096],
})
