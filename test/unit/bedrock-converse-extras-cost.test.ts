import { describe, expect, it } from 'vitest'
import { mapUsage } from '../../src/providers/bedrock/converse-response'
import type { Deployment, ModelInfo } from '../../src/providers/types'
import { costOf, priceFor } from '../../src/spend/cost'
import { CROSS_REGION_PREFIXES, lookupPrice, stripCrossRegionPrefix } from '../../src/spend/prices'

const SONNET_37 = 'anthropic.claude-3-7-sonnet-20250219-v1:0'

const deployment = (model: string, modelInfo: ModelInfo = {}): Deployment => ({
  id: 'd',
  modelName: 'g',
  provider: 'bedrock',
  providerModel: model.replace(/^bedrock\//, ''),
  params: { model },
  modelInfo,
})

describe('prices for cross-region profiles and ARNs', () => {
  it.each(CROSS_REGION_PREFIXES)(
    'prices a %s profile of a model LiteLLM lists once, at the base price',
    (prefix) => {
      expect(lookupPrice(`bedrock/${prefix}${SONNET_37}`)?.key).toBe(SONNET_37)
      expect(stripCrossRegionPrefix(`${prefix}${SONNET_37}`)).toBe(SONNET_37)
    },
  )

  it('strips the nova/ route marker, which model-id.ts accepts for Converse too', () => {
    expect(lookupPrice('bedrock/nova/us.amazon.nova-pro-v1:0')?.key).toBe('amazon.nova-pro-v1:0')
  })

  it('prices an application inference profile by model_info.base_model, as LiteLLM does', () => {
    const arn = 'bedrock/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3'
    expect(priceFor(deployment(arn))).toBeUndefined()
    expect(priceFor(deployment(arn, { base_model: `bedrock/us.${SONNET_37}` }))).toMatchObject({
      key: SONNET_37,
      source: 'base_model',
      cache_read_input_token_cost: 3e-7,
    })
  })
})

describe('prompt-cache pricing from Converse usage', () => {
  const price = priceFor(deployment(`bedrock/us.${SONNET_37}`))
  if (price === undefined) throw new Error('Claude 3.7 Sonnet must be priced')

  const uncached = mapUsage({ inputTokens: 10_000, outputTokens: 100, totalTokens: 10_100 })
  const read = mapUsage({
    inputTokens: 1000,
    outputTokens: 100,
    totalTokens: 10_100,
    cacheReadInputTokens: 9000,
  })
  const written = mapUsage({
    inputTokens: 1000,
    outputTokens: 100,
    totalTokens: 10_100,
    cacheWriteInputTokens: 9000,
  })

  it('reports the cached tokens the way LiteLLM does', () => {
    expect(read).toEqual({
      prompt_tokens: 10_000,
      completion_tokens: 100,
      total_tokens: 10_100,
      prompt_tokens_details: { cached_tokens: 9000 },
      cache_read_input_tokens: 9000,
    })
    expect(written).toMatchObject({ prompt_tokens: 10_000, cache_creation_input_tokens: 9000 })
  })

  it('bills a cache hit below the same prompt uncached, and a cache write above it', () => {
    const base = costOf(uncached, price)
    expect(base).toBeCloseTo(10_000 * 3e-6 + 100 * 1.5e-5, 12)
    expect(costOf(read, price)).toBeCloseTo(1000 * 3e-6 + 9000 * 3e-7 + 100 * 1.5e-5, 12)
    expect(costOf(read, price)).toBeLessThan(base)
    expect(costOf(written, price)).toBeCloseTo(1000 * 3e-6 + 9000 * 3.75e-6 + 100 * 1.5e-5, 12)
    expect(costOf(written, price)).toBeGreaterThan(base)
  })
})
