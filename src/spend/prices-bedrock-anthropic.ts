import { B, C, chatEntries } from './prices-types'

/*
 * Anthropic Claude on Bedrock, on-demand prices as in LiteLLM's price map (USD per token).
 * Row: [provider, input, output, max input, max output, cache read, cache write].
 *
 * Values (max tokens included) are copied from LiteLLM's map as is, so spend matches a LiteLLM proxy
 * reading the same config. The `*_above_200k_tokens` long-context tiers LiteLLM lists for some Sonnet
 * models are not carried: Bedrock bills them only with the 1M-context beta, which this gateway does
 * not send.
 */
export const ANTHROPIC_PRICES = chatEntries({
  'anthropic.claude-instant-v1': [B, 8e-7, 2.4e-6, 100_000, 8191],
  'anthropic.claude-v1': [B, 8e-6, 2.4e-5, 100_000, 8191],
  // Dropped from LiteLLM's current map but listed by older ones, at the Claude 2.1 price; configs
  // written for those releases still name it.
  'anthropic.claude-v2': [B, 8e-6, 2.4e-5, 100_000, 8191],
  'anthropic.claude-v2:1': [B, 8e-6, 2.4e-5, 100_000, 8191],
  'anthropic.claude-3-haiku-20240307-v1:0': [B, 2.5e-7, 1.25e-6, 200_000, 4096, 2.5e-8, 3.125e-7],
  'anthropic.claude-3-sonnet-20240229-v1:0': [B, 3e-6, 1.5e-5, 200_000, 4096, 3e-7, 3.75e-6],
  'anthropic.claude-3-opus-20240229-v1:0': [B, 1.5e-5, 7.5e-5, 200_000, 4096, 1.5e-6, 1.875e-5],
  'anthropic.claude-3-5-haiku-20241022-v1:0': [B, 8e-7, 4e-6, 200_000, 8192, 8e-8, 1e-6],
  'anthropic.claude-3-5-sonnet-20240620-v1:0': [B, 3e-6, 1.5e-5, 1_000_000, 4096, 3e-7, 3.75e-6],
  'anthropic.claude-3-5-sonnet-20241022-v2:0': [B, 3e-6, 1.5e-5, 1_000_000, 8192, 3e-7, 3.75e-6],
  'anthropic.claude-3-7-sonnet-20250219-v1:0': [C, 3e-6, 1.5e-5, 200_000, 8192, 3e-7, 3.75e-6],
  'anthropic.claude-sonnet-4-20250514-v1:0': [C, 3e-6, 1.5e-5, 1_000_000, 64_000, 3e-7, 3.75e-6],
  'anthropic.claude-opus-4-20250514-v1:0': [C, 1.5e-5, 7.5e-5, 200_000, 32_000, 1.5e-6, 1.875e-5],
  'anthropic.claude-opus-4-1-20250805-v1:0': [C, 1.5e-5, 7.5e-5, 200_000, 32_000, 1.5e-6, 1.875e-5],
  'anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3e-6, 1.5e-5, 200_000, 64_000, 3e-7, 3.75e-6],
  'anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1e-6, 5e-6, 200_000, 64_000, 1e-7, 1.25e-6],
  'anthropic.claude-opus-4-5-20251101-v1:0': [C, 5e-6, 2.5e-5, 200_000, 64_000, 5e-7, 6.25e-6],
  'anthropic.claude-opus-4-6-v1': [C, 5e-6, 2.5e-5, 1_000_000, 128_000, 5e-7, 6.25e-6],
  'anthropic.claude-sonnet-4-6': [C, 3e-6, 1.5e-5, 1_000_000, 64_000, 3e-7, 3.75e-6],
  'anthropic.claude-opus-4-7': [C, 5e-6, 2.5e-5, 1_000_000, 128_000, 5e-7, 6.25e-6],
  'anthropic.claude-opus-4-8': [C, 5e-6, 2.5e-5, 1_000_000, 128_000, 5e-7, 6.25e-6],
  'anthropic.claude-sonnet-5': [C, 2e-6, 1e-5, 1_000_000, 128_000, 2e-7, 2.5e-6],
  'anthropic.claude-fable-5': [C, 1e-5, 5e-5, 1_000_000, 128_000, 1e-6, 1.25e-5],
})

/*
 * Cross-region inference profiles LiteLLM prices differently from the base model: most geographic
 * (`us.`, `eu.`, `apac.`, `jp.`, `au.`) profiles of Claude 4.5 and newer carry a 10 % premium, and
 * GovCloud more. Profiles LiteLLM prices like the base model (the `global.` ones, the Claude 3.x and
 * 4.0 ones, `eu.` Opus 4.5) are not repeated: the lookup strips the prefix and lands on the base entry.
 *
 * Left out on purpose: LiteLLM's `eu.anthropic.claude-3-5-haiku-20241022-v1:0`, which carries the
 * Claude 3 Haiku price (0.25/1.25 per M) for a model that costs 0.8/4; billing the base price is the
 * safer error.
 */
export const ANTHROPIC_REGIONAL_PRICES = chatEntries({
  'us.anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1.1e-6, 5.5e-6, 200_000, 64_000, 1.1e-7, 1.375e-6],
  'eu.anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1.1e-6, 5.5e-6, 200_000, 64_000, 1.1e-7, 1.375e-6],
  'apac.anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1.1e-6, 5.5e-6, 200_000, 64_000, 1.1e-7, 1.375e-6],
  'jp.anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1.1e-6, 5.5e-6, 200_000, 64_000, 1.1e-7, 1.375e-6],
  'au.anthropic.claude-haiku-4-5-20251001-v1:0': [C, 1.1e-6, 5.5e-6, 200_000, 64_000, 1.1e-7, 1.375e-6],
  'us.anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3.3e-6, 1.65e-5, 200_000, 64_000, 3.3e-7, 4.125e-6],
  'eu.anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3.3e-6, 1.65e-5, 200_000, 64_000, 3.3e-7, 4.125e-6],
  'jp.anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3.3e-6, 1.65e-5, 200_000, 64_000, 3.3e-7, 4.125e-6],
  'au.anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3.3e-6, 1.65e-5, 200_000, 64_000, 3.3e-7, 4.125e-6],
  'us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0': [C, 3.6e-6, 1.8e-5, 200_000, 64_000, 3.6e-7, 4.5e-6],
  'us.anthropic.claude-opus-4-5-20251101-v1:0': [C, 5.5e-6, 2.75e-5, 200_000, 64_000, 5.5e-7, 6.875e-6],
  'us.anthropic.claude-opus-4-6-v1': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'eu.anthropic.claude-opus-4-6-v1': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'au.anthropic.claude-opus-4-6-v1': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'us.anthropic.claude-sonnet-4-6': [C, 3.3e-6, 1.65e-5, 1_000_000, 64_000, 3.3e-7, 4.125e-6],
  'eu.anthropic.claude-sonnet-4-6': [C, 3.3e-6, 1.65e-5, 1_000_000, 64_000, 3.3e-7, 4.125e-6],
  'au.anthropic.claude-sonnet-4-6': [C, 3.3e-6, 1.65e-5, 1_000_000, 64_000, 3.3e-7, 4.125e-6],
  'jp.anthropic.claude-sonnet-4-6': [C, 3.3e-6, 1.65e-5, 1_000_000, 64_000, 3.3e-7, 4.125e-6],
  'us.anthropic.claude-opus-4-7': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'eu.anthropic.claude-opus-4-7': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'au.anthropic.claude-opus-4-7': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'jp.anthropic.claude-opus-4-7': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'us.anthropic.claude-opus-4-8': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'eu.anthropic.claude-opus-4-8': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'au.anthropic.claude-opus-4-8': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'jp.anthropic.claude-opus-4-8': [C, 5.5e-6, 2.75e-5, 1_000_000, 128_000, 5.5e-7, 6.875e-6],
  'us.anthropic.claude-sonnet-5': [C, 2.2e-6, 1.1e-5, 1_000_000, 128_000, 2.2e-7, 2.75e-6],
  'eu.anthropic.claude-sonnet-5': [C, 2.2e-6, 1.1e-5, 1_000_000, 128_000, 2.2e-7, 2.75e-6],
  'au.anthropic.claude-sonnet-5': [C, 2.2e-6, 1.1e-5, 1_000_000, 128_000, 2.2e-7, 2.75e-6],
  'jp.anthropic.claude-sonnet-5': [C, 2.2e-6, 1.1e-5, 1_000_000, 128_000, 2.2e-7, 2.75e-6],
  'us.anthropic.claude-fable-5': [C, 1.1e-5, 5.5e-5, 1_000_000, 128_000, 1.1e-6, 1.375e-5],
  'eu.anthropic.claude-fable-5': [C, 1.1e-5, 5.5e-5, 1_000_000, 128_000, 1.1e-6, 1.375e-5],
})
