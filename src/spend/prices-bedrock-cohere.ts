import { B, chatEntries, embeddingEntries } from './prices-types'

/*
 * Cohere on Bedrock, on-demand prices as in LiteLLM's price map (USD per token).
 * Row: [provider, input, output, max input, max output].
 */
export const COHERE_PRICES = chatEntries({
  'cohere.command-text-v14': [B, 1.5e-6, 2e-6, 4096, 4096],
  'cohere.command-light-text-v14': [B, 3e-7, 6e-7, 4096, 4096],
  'cohere.command-r-v1:0': [B, 5e-7, 1.5e-6, 128_000, 4096],
  'cohere.command-r-plus-v1:0': [B, 3e-6, 1.5e-5, 128_000, 4096],
})

export const COHERE_EMBEDDING_PRICES = embeddingEntries({
  'cohere.embed-english-v3': [B, 1e-7, 512],
  'cohere.embed-multilingual-v3': [B, 1e-7, 512],
  'cohere.embed-v4:0': [B, 1.2e-7, 128_000],
})
