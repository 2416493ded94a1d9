import { B, C, chatEntries, embeddingEntries } from './prices-types'

/*
 * Amazon Nova and Titan on Bedrock, on-demand prices as in LiteLLM's price map (USD per token).
 * Row: [provider, input, output, max input, max output, cache read].
 *
 * Nova is priced per region by AWS, so LiteLLM lists the `eu.` and `apac.` profiles separately; its
 * `us.` profiles cost the base price and are found by stripping the prefix. Nova Premier is only
 * offered through the `us.` profile and has no bare key. Nova 2 Lite has a cache-read price but no
 * cache-write one: writes are billed as ordinary input.
 */
export const AMAZON_PRICES = chatEntries({
  'amazon.nova-micro-v1:0': [C, 3.5e-8, 1.4e-7, 128_000, 10_000],
  'amazon.nova-lite-v1:0': [C, 6e-8, 2.4e-7, 300_000, 10_000],
  'amazon.nova-pro-v1:0': [C, 8e-7, 3.2e-6, 300_000, 10_000],
  'us.amazon.nova-premier-v1:0': [C, 2.5e-6, 1.25e-5, 1_000_000, 10_000],
  'eu.amazon.nova-micro-v1:0': [C, 4.6e-8, 1.84e-7, 128_000, 10_000],
  'eu.amazon.nova-lite-v1:0': [C, 7.8e-8, 3.12e-7, 300_000, 10_000],
  'eu.amazon.nova-pro-v1:0': [C, 1.05e-6, 4.2e-6, 300_000, 10_000],
  'apac.amazon.nova-micro-v1:0': [C, 3.7e-8, 1.48e-7, 128_000, 10_000],
  'apac.amazon.nova-lite-v1:0': [C, 6.3e-8, 2.52e-7, 300_000, 10_000],
  'apac.amazon.nova-pro-v1:0': [C, 8.4e-7, 3.36e-6, 300_000, 10_000],
  'amazon.nova-2-lite-v1:0': [C, 3e-7, 2.5e-6, 1_000_000, 64_000, 7.5e-8],
  'us.amazon.nova-2-lite-v1:0': [C, 3.3e-7, 2.75e-6, 1_000_000, 64_000, 8.25e-8],
  'eu.amazon.nova-2-lite-v1:0': [C, 3.3e-7, 2.75e-6, 1_000_000, 64_000, 8.25e-8],
  'jp.amazon.nova-2-lite-v1:0': [C, 3.3e-7, 2.75e-6, 1_000_000, 64_000, 8.25e-8],
  'amazon.titan-text-lite-v1': [B, 3e-7, 4e-7, 42_000, 4000],
  'amazon.titan-text-express-v1': [B, 1.3e-6, 1.7e-6, 42_000, 8000],
  'amazon.titan-text-premier-v1:0': [B, 5e-7, 1.5e-6, 42_000, 32_000],
})

/**
 * Titan embeddings (input tokens only). LiteLLM also prices `titan-embed-image-v1` per image
 * ($0.00006); only its text-token price is carried here until image embeddings are served.
 */
export const AMAZON_EMBEDDING_PRICES = embeddingEntries({
  'amazon.titan-embed-text-v1': [B, 1e-7, 8192],
  'amazon.titan-embed-g1-text-02': [B, 1e-7, 8192],
  'amazon.titan-embed-text-v2:0': [B, 2e-8, 8192],
  'amazon.titan-embed-image-v1': [B, 8e-7, 128],
})
